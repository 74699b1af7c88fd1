"""A RabbitMQ node of a test's own, on free loopback ports, that a test may stop and start
again (never the machine's own). Its Redis counterpart is faults.PrivateRedis."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

from servers import free_port, wait_for

RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"


class PrivateRabbitMQ:
    """A RabbitMQ node of the test's own: its own node name, ports, data and cookie."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port, self.dist_port = folder, free_port(), free_port()
        self.process: subprocess.Popen | None = None
        (folder / "rabbitmq.conf").write_text("loopback_users = none\n")
        (folder / "enabled_plugins").write_text("[].\n")

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            HOME=str(self.folder),  # the Erlang cookie lives here
            RABBITMQ_NODENAME=f"newswatch-test-{self.port}@localhost",
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1", RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(self.folder / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.folder / "log"),
            RABBITMQ_PID_FILE=str(self.folder / "pid"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.folder / "enabled_plugins"),
            RABBITMQ_CONFIG_FILE=str(self.folder / "rabbitmq"),
        )
        return env

    def start(self) -> PrivateRabbitMQ:
        # Not Debian's /usr/sbin wrapper, which would switch to the rabbitmq user (who
        # cannot write in this test's folder).
        server = RABBITMQ_SERVER if Path(RABBITMQ_SERVER).exists() else shutil.which("rabbitmq-server")
        with open(self.folder / "server.log", "a") as log:
            self.process = subprocess.Popen([server], env=self._env(), stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: _accepts(self.port), timeout=60, what="RabbitMQ to listen")
        return self

    def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGTERM to the Erlang VM: RabbitMQ's orderly shutdown."""
        if self.process is None or self.process.poll() is not None:
            return
        pid_file = self.folder / "pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
