"""No Docker engine runs here, so the compose file and Dockerfile are checked by reading them
and by running, locally, the commands they run."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml
from helpers import ROOT, subprocess_env

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
WORKER_SOURCE = "\n".join(p.read_text() for p in (ROOT / "worker").rglob("*.py"))
CONFIG_TEXT = "\n".join(p.read_text() for p in (ROOT / "config").glob("*.yaml"))


FLOWER_ONLY = {"NEWSWATCH_FLOWER_BIND", "FLOWER_BASIC_AUTH"}
LOOPBACK = ("127.", "localhost", "[::1]", "::1")
# Services that ask for a password themselves before they answer anything but a health check.
AUTHENTICATED = {"web"}


def command_of(service: dict) -> list[str]:
    command = service["command"]
    return command if isinstance(command, list) else command.split()


def test_compose_has_the_services_of_spec():
    assert {"redis", "postgres", "worker", "beat", "web", "flower", "mailcatcher"} <= set(SERVICES)
    redis_command = " ".join(command_of(SERVICES["redis"]))
    assert "--appendonly yes" in redis_command, "Redis must persist with AOF"
    assert command_of(SERVICES["worker"])[:4] == ["celery", "-A", "worker.app", "worker"]
    assert command_of(SERVICES["beat"])[:4] == ["celery", "-A", "worker.app", "beat"]
    assert "exec celery -A worker.app flower" in " ".join(command_of(SERVICES["flower"]))
    # --scale worker=N needs a worker with no fixed name or published port
    for name in ("worker", "deliver"):
        assert "container_name" not in SERVICES[name] and "ports" not in SERVICES[name]


def test_worker_services_consume_every_queue_and_deliveries_have_their_own():
    from worker.queues import QUEUES, ROUTES

    consumed: dict[str, set[str]] = {}
    for name, service in SERVICES.items():
        command = command_of(service) if "command" in service else []
        if command[:4] == ["celery", "-A", "worker.app", "worker"]:
            queues = command[command.index("-Q") + 1].split(",") if "-Q" in command else list(QUEUES)
            consumed[name] = set(queues)
    assert set().union(*consumed.values()) == set(QUEUES)
    deliver_queue = ROUTES["newswatch.deliver"]["queue"]
    owners = [name for name, queues in consumed.items() if deliver_queue in queues]
    assert owners and all(consumed[name] == {deliver_queue} for name in owners), consumed


def test_every_env_variable_passed_is_read_by_the_worker_or_config():
    for name in ("worker", "deliver", "beat", "web", "flower"):
        for variable in SERVICES[name]["environment"]:
            if name == "flower" and variable in FLOWER_ONLY:
                continue  # read by the flower service's own command and by Flower
            read = (
                f'"{variable}"' in WORKER_SOURCE
                or f"${{{variable}" in CONFIG_TEXT
            )
            assert read, f"{name} passes {variable}, which nothing in worker/ or config/ reads"


def test_config_variables_have_a_home_in_compose():
    passed = set(SERVICES["worker"]["environment"])
    for variable in set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", CONFIG_TEXT)):
        if variable in ("NEWSWATCH_STATE",):  # the Dockerfile sets it
            continue
        assert variable in passed, f"config/ reads ${{{variable}}} but compose never sets it"


def run_python(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def test_celery_app_entry_point_loads_with_the_compose_environment(redis_url):
    env = subprocess_env(NEWSWATCH_CONFIG=str(ROOT / "config"), REDIS_URL=redis_url)
    code = (
        "from worker.app import app; import worker.tasks;"
        "print(app.conf.broker_url); print(sorted(t for t in app.tasks if t.startswith('newswatch.')))"
    )
    result = run_python(env, "-c", code)
    assert result.returncode == 0, result.stderr
    assert redis_url in result.stdout
    for task in ("newswatch.tick", "newswatch.poll_source", "newswatch.deliver", "newswatch.send_digest"):
        assert task in result.stdout


def test_celery_worker_refuses_clearly_without_redis_url():
    env = subprocess_env(NEWSWATCH_CONFIG=str(ROOT / "config"))
    result = run_python(env, "-m", "celery", "-A", "worker.app", "worker")
    assert result.returncode != 0
    assert "redis_url is empty" in result.stderr


@pytest.mark.parametrize("config", ["missing", "broken"])
def test_importing_the_celery_app_reads_no_config_and_never_exits(tmp_path, config):
    """Config loading waits for worker or beat start: an import has no side effects."""
    path = tmp_path / "nowhere"
    if config == "broken":
        path = tmp_path / "config.yaml"
        path.write_text("sources: [{id: s, url: not-a-url\n")
    env = subprocess_env(NEWSWATCH_CONFIG=str(path))
    code = (
        "import os, worker.app, worker.tasks;"
        "print(worker.app.app.main, worker.app.app.configured, 'PROMETHEUS_MULTIPROC_DIR' in os.environ)"
    )
    result = run_python(env, "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["newswatch", "False", "False"]
    # The same config still stops a worker at start, with the reason.
    start = run_python(env, "-m", "celery", "-A", "worker.app", "worker")
    assert start.returncode != 0
    assert "newswatch: invalid configuration" in start.stderr


def test_dockerfile_installs_the_package_and_runs_unprivileged():
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"pip install .*\.\[docker\]", dockerfile)
    assert "COPY worker" in dockerfile and "COPY config" in dockerfile
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert "flower" in pyproject  # the [docker] extra the image installs for the flower service


def test_the_polling_pool_and_its_size_come_from_the_environment_with_prefork_by_default():
    import re

    command = " ".join(command_of(SERVICES["worker"]))
    defaults = dict(re.findall(r"\$\{(\w+):-([^}]*)\}", command))
    assert defaults == {"WORKER_POOL": "prefork", "WORKER_CONCURRENCY": "8"}
    assert "--pool ${WORKER_POOL:-prefork}" in command
    assert "--concurrency ${WORKER_CONCURRENCY:-8}" in command


def test_compose_runs_postgres_with_a_volume_and_the_workers_point_at_it():
    postgres = SERVICES["postgres"]
    assert postgres["image"].startswith("postgres:")
    data = [v for v in postgres["volumes"] if v.endswith(":/var/lib/postgresql/data")]
    assert data and data[0].split(":")[0] in COMPOSE["volumes"], "history must survive a restart"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    env = postgres["environment"]
    for name in ("worker", "deliver", "beat", "web"):
        service = SERVICES[name]
        url = service["environment"]["DATABASE_URL"]
        assert url.startswith("postgresql://") and "@postgres:5432/" in url
        user = url.split("://")[1].split(":")[0]
        assert user == env["POSTGRES_USER"] and url.rsplit("/", 1)[1] == env["POSTGRES_DB"]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "${DATABASE_URL" in CONFIG_TEXT


def test_compose_web_serves_the_status_page_with_a_password():
    web = SERVICES["web"]
    command = command_of(web)
    assert command[:2] == ["newswatch", "web"]
    host, port = command[command.index("--bind") + 1].rsplit(":", 1)
    assert host == "0.0.0.0", "reachable through the published port"
    assert any(str(p).endswith(f":{port}") for p in web["ports"])
    # off loopback the page refuses to start without one: compose passes it through
    assert "NEWSWATCH_WEB_PASSWORD" in web["environment"]
    assert "${NEWSWATCH_WEB_PASSWORD" in CONFIG_TEXT
    assert "/healthz" in " ".join(web["healthcheck"]["test"])


def test_the_package_ships_its_migrations_and_templates():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"worker.history.migrations" = ["*/*.sql"]' in pyproject
    assert '"worker.web" = ["templates/*.html"]' in pyproject
    assert list((ROOT / "worker" / "history" / "migrations" / "postgres").glob("0001_*.sql"))
    assert (ROOT / "worker" / "web" / "templates" / "status.html").exists()


def _default(text: str) -> str:
    """A compose value with every ${VAR:-default} at its default (what a bare `up` uses)."""
    return re.sub(r"\$\{[A-Z_][A-Z0-9_]*:-([^}]*)\}", r"\1", text)


def test_nothing_is_published_beyond_loopback_without_a_password():
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            parts = _default(str(port)).rsplit(":", 2)
            host = parts[0] if len(parts) == 3 else "0.0.0.0"  # no host part: every interface
            if not host.startswith(LOOPBACK):
                assert name in AUTHENTICATED, f"{name} publishes {port} beyond loopback without a login"


def run_flower_command(tmp_path, **env: str) -> subprocess.CompletedProcess:
    """The flower service's own shell command, with a stand-in `celery` that prints what it
    was asked and which FLOWER_ variables it got."""
    (tmp_path / "celery").write_text('#!/bin/sh\necho "celery $* auth=${FLOWER_BASIC_AUTH-unset}"\n')
    (tmp_path / "celery").chmod(0o755)
    script = command_of(SERVICES["flower"])[2].replace("$$", "$")
    environment = {"PATH": f"{tmp_path}:/usr/bin:/bin", **env}
    return subprocess.run(["sh", "-c", script], env=environment, capture_output=True, text=True,
                          timeout=30)


def test_flower_starts_on_loopback_and_refuses_to_be_published_without_basic_auth(tmp_path):
    local = run_flower_command(tmp_path, NEWSWATCH_FLOWER_BIND="127.0.0.1", FLOWER_BASIC_AUTH="")
    assert local.returncode == 0 and "worker.app flower --port=5555 auth=unset" in local.stdout
    exposed = run_flower_command(tmp_path, NEWSWATCH_FLOWER_BIND="0.0.0.0", FLOWER_BASIC_AUTH="")
    assert exposed.returncode == 1 and "refusing to start" in exposed.stderr
    assert "celery" not in exposed.stdout
    guarded = run_flower_command(tmp_path, NEWSWATCH_FLOWER_BIND="0.0.0.0",
                                 FLOWER_BASIC_AUTH="ops:s3cret")
    assert guarded.returncode == 0 and "auth=ops:s3cret" in guarded.stdout
