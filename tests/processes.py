"""Long-running processes for the tests: `newswatch run`, and `celery -A worker.app worker|beat`."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from helpers import ROOT, newswatch_command, subprocess_env


class CeleryProcesses:
    """Real `celery worker` / `celery beat` processes, each in its own process group."""

    def __init__(self, celery_bin: str, env: dict[str, str], logs: Path) -> None:
        self.celery_bin, self.env, self.logs = celery_bin, env, logs
        self.processes: list[subprocess.Popen] = []

    def start(self, name: str, *args: str) -> subprocess.Popen:
        # The child keeps its own copy of the log's descriptor: ours is closed at once.
        with open(self.logs / f"{name}.log", "w") as log:
            process = subprocess.Popen([self.celery_bin, "-A", "worker.app", *args], env=self.env,
                                       cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.processes.append(process)
        return process

    def worker(self, name: str = "worker", concurrency: int = 1) -> subprocess.Popen:
        return self.start(name, "worker", "--loglevel=INFO", f"--concurrency={concurrency}",
                          "-n", f"{name}@%h", "--without-gossip", "--without-mingle")

    def beat(self) -> subprocess.Popen:
        return self.start("beat", "beat", "--loglevel=INFO", "--schedule",
                          str(self.logs / "beat-schedule"))

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text()

    def stop_all(self, timeout: float = 30.0) -> list[int]:
        """SIGTERM (warm shutdown) to every process; their exit codes, killed ones as -9."""
        for process in self.processes:
            if process.poll() is None:
                # To the main process only: Celery's warm shutdown lets the pool finish
                # the tasks in hand (a group-wide SIGTERM would kill them mid-task).
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        return [process.returncode for process in self.processes]


class NewswatchRun:
    """`newswatch run` as a subprocess (the tripwire loaded), its log in a file."""

    def __init__(self, config: Path, cwd: Path, **env: str) -> None:
        self.log_path = cwd / "newswatch.log"
        with open(self.log_path, "w") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [*newswatch_command(), "run", "--config", str(config)], cwd=cwd,
                env=subprocess_env(**env), stdout=log, stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text()

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> int:
        """SIGTERM and wait; a process that ignores it is killed and fails the test."""
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError("newswatch run did not stop on SIGTERM") from None
        return code
