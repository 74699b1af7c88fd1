"""Per-host politeness held in Redis: two worker processes together stay under the limit."""

from __future__ import annotations

import itertools
import subprocess
import threading
import time

import yaml
from helpers import newswatch_command, subprocess_env
from servers import HTTPServer

EMPTY_FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


def test_two_processes_never_exceed_the_per_host_rate(tmp_path, redis_url):
    starts: list[float] = []
    lock = threading.Lock()

    def feed(_request):
        with lock:
            starts.append(time.monotonic())
        return 200, {"Content-Type": "application/rss+xml"}, EMPTY_FEED

    site = HTTPServer().start()
    for index in range(20):
        site.routes[f"/feed/{index}"] = feed
    config = tmp_path / "newswatch.yaml"
    config.write_text(yaml.safe_dump({
        "sources": [{"id": f"s{i}", "url": site.url(f"/feed/{i}")} for i in range(20)],
        "settings": {"redis_url": redis_url, "allow_private_networks": True,
                     "per_host_interval": "250ms", "per_host_concurrency": 2},
    }))
    try:
        runs = [subprocess.Popen([*newswatch_command(), "once", "--config", str(config)],
                                 env=subprocess_env(), cwd=tmp_path, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [run.communicate(timeout=120)[1] for run in runs]
    finally:
        site.stop()
    assert all(run.returncode == 0 for run in runs), outputs
    assert all("status=error" not in output for output in outputs), outputs
    assert len(starts) >= 20
    starts.sort()
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    # 250 ms between request starts to one host, whichever process sends them; the
    # server sees arrivals, so allow a little network jitter below the limit.
    assert min(gaps) >= 0.2, sorted(gaps)[:5]
    rate = (len(starts) - 1) / (starts[-1] - starts[0])
    assert rate <= 4.2, f"{rate:.2f} requests/s to one host"
