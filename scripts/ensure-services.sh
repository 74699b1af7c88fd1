#!/usr/bin/env bash
# Make sure the services the tests talk to are up: Redis on 127.0.0.1:6379, RabbitMQ on
# 127.0.0.1:5672 (the alternative broker) and PostgreSQL on 127.0.0.1:5432 (the history
# store; the tests connect as user postgres without a password). Each is started when
# installed but stopped, and installed with apt-get (as root) when missing. The browser
# test's headless Chromium and its driver are installed the same way.
set -euo pipefail

redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
rabbit_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
postgres_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

start_redis() {
  mkdir -p /tmp/newswatch-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp/newswatch-redis --logfile /tmp/newswatch-redis/redis.log
}
start_rabbit() { rabbitmq-server -detached >/dev/null 2>&1 || true; }

# Debian's cluster layout (postgresql-common): create one when the package brought none,
# let the tests in from 127.0.0.1 as postgres without a password (a test machine only:
# the line goes first in pg_hba.conf, so it wins), then start it.
start_postgres() {
  local version
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
    pg_createcluster "$version" main >/dev/null
  fi
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
  pg_ctlcluster "$version" main start
}

# ensure NAME UP_CHECK BINARY DEBIAN_PACKAGE START_FUNCTION
ensure() {
  local name=$1 up=$2 binary=$3 package=$4 start=$5
  if ! "$up"; then
    if ! command -v "$binary" >/dev/null; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "ensure-services: installing $package" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
      else
        echo "ensure-services: $name is not running and $binary is not installed" >&2
        exit 1
      fi
    fi
    echo "ensure-services: starting $name" >&2
    "$start"
    for _ in $(seq 1 240); do "$up" && break; sleep 0.25; done
    "$up" || { echo "ensure-services: $name did not come up" >&2; exit 1; }
  fi
  echo "ensure-services: $name ok" >&2
}

ensure Redis redis_up redis-server redis-server start_redis
ensure RabbitMQ rabbit_up rabbitmq-server rabbitmq-server start_rabbit
ensure PostgreSQL postgres_up pg_ctlcluster postgresql start_postgres

# The status page's browser test drives Debian's headless Chromium through its chromedriver.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "ensure-services: installing chromium and chromium-driver" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "ensure-services: chromium and chromedriver are not installed (the browser test needs them)" >&2
    exit 1
  fi
fi
echo "ensure-services: Chromium ok" >&2
