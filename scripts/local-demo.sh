#!/usr/bin/env bash
# `make run` over local test feeds: a feed server on 127.0.0.1 (benchmarks/_feedserver.py:
# Indonesian-style news, about 1 item in 200 on Armenia and Azerbaijan, half the feeds
# publishing 2 items per poll), newswatch run embedded with the shipped topic for MINUTES
# minutes, its alerts posted back to the feed server. State: .newswatch/demo/state.db.
# Then: .venv/bin/newswatch backtest --config .newswatch/demo/config --topic armenia-azerbaijan --since 1d
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-4}
SOURCES=${SOURCES:-20}
PY=.venv/bin/python
DEMO=.newswatch/demo
rm -rf "$DEMO" && mkdir -p "$DEMO/config"

$PY benchmarks/_feedserver.py --sources "$SOURCES" --extra-items 200 --latency 0.05 > "$DEMO/feeds.log" 2>&1 &
FEEDS=$!
trap 'kill $FEEDS 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q '^ready' "$DEMO/feeds.log" && break; sleep 0.1; done
PORT=$(awk '/^ready/ {print $2}' "$DEMO/feeds.log")

cp config/topics.yaml "$DEMO/config/"
{
  echo "sources:"
  for i in $(seq 0 $((SOURCES - 1))); do
    echo "  - {id: berita-$i, name: Berita $i, url: 'http://127.0.0.1:$PORT/f/$i.xml', every: 30s, language: id}"
  done
  echo "channels:"
  for id in desk-email ops-webhook; do
    echo "  - {id: $id, type: webhook, url: 'http://127.0.0.1:$PORT/hook'}"
  done
  echo "settings: {state_path: $DEMO/state.db, allow_private_networks: true, per_host_concurrency: 4, per_host_interval: 0s}"
} > "$DEMO/config/local.yaml"

echo "local-demo: $SOURCES feeds on 127.0.0.1:$PORT, newswatch run for $MINUTES min" >&2
timeout --signal=INT "$((MINUTES * 60))" .venv/bin/newswatch run --config "$DEMO/config" > "$DEMO/run.log" 2>&1 || true
echo "local-demo: done; log in $DEMO/run.log" >&2
