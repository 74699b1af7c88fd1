#!/usr/bin/env bash
# Make sure the services the tests talk to are up: Redis on 127.0.0.1:6379 and
# RabbitMQ on 127.0.0.1:5672 (the alternative broker). Each is started when installed
# but stopped, and installed with apt-get (as root) when missing.
set -euo pipefail

redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
rabbit_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

start_redis() {
  mkdir -p /tmp/newswatch-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp/newswatch-redis --logfile /tmp/newswatch-redis/redis.log
}
start_rabbit() { rabbitmq-server -detached >/dev/null 2>&1 || true; }

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
