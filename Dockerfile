# The newswatch image: the package, its CLI and Celery; runs as an unprivileged user.
FROM python:3.12-slim

# MALLOC_ARENA_MAX: glibc gives each thread of a thread-pool worker its own malloc arena,
# memory a 16-thread full-text worker holds for nothing (README, "Scale").
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    NEWSWATCH_CONFIG=/app/config \
    NEWSWATCH_STATE=/data/state.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY worker ./worker
RUN pip install --no-cache-dir '.[docker]'
COPY config ./config

RUN useradd --create-home --uid 10001 newswatch && mkdir -p /data && chown newswatch /data
USER newswatch
VOLUME ["/data"]

CMD ["newswatch", "run"]
