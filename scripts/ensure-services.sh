#!/usr/bin/env bash
# Make sure the services the tests talk to are up: Redis on 127.0.0.1:6379 and
# RabbitMQ on 127.0.0.1:5672 (the alternative broker). Each is started when installed
# but stopped, and installed with apt-get (as root) when missing.
set -euo pipefail

redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }

if ! redis_up; then
  if ! command -v redis-server >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "ensure-services: installing redis-server" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    else
      echo "ensure-services: Redis is not running and redis-server is not installed" >&2
      exit 1
    fi
  fi
  echo "ensure-services: starting redis-server on 127.0.0.1:6379" >&2
  mkdir -p /tmp/newswatch-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp/newswatch-redis --logfile /tmp/newswatch-redis/redis.log
  for _ in $(seq 1 100); do redis_up && break; sleep 0.1; done
  redis_up || { echo "ensure-services: Redis did not come up" >&2; exit 1; }
fi
echo "ensure-services: redis ok" >&2

rabbit_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

if ! rabbit_up; then
  if ! command -v rabbitmq-server >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "ensure-services: installing rabbitmq-server" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
    else
      echo "ensure-services: RabbitMQ is not running and rabbitmq-server is not installed" >&2
      exit 1
    fi
  fi
  echo "ensure-services: starting rabbitmq-server" >&2
  rabbitmq-server -detached >/dev/null 2>&1 || true
  for _ in $(seq 1 120); do rabbit_up && break; sleep 0.5; done
  rabbit_up || { echo "ensure-services: RabbitMQ did not come up" >&2; exit 1; }
fi
echo "ensure-services: rabbitmq ok" >&2
