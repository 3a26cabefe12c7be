# arxiv-digest: the service (scheduler, chat adapters, web app) in one process, as a non-root user.
# The SQLite database and the full-text cache live in the /data volume; config.json is baked in
# (mount another one and point ARXIV_DIGEST_CONFIG at it to change it). Secrets come from the environment.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md config.json ./
COPY core ./core
COPY adapters ./adapters
COPY bot ./bot
RUN pip install . \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin digest \
    && mkdir -p /data \
    && chown digest:digest /data

USER digest
WORKDIR /data
VOLUME ["/data"]

ENV ARXIV_DIGEST_CONFIG=/app/config.json \
    PORT=8000
EXPOSE 8000

HEALTHCHECK --interval=60s --timeout=5s --start-period=30s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"

CMD ["sh", "-c", "exec arxiv-digest --database /data/arxiv-digest.db serve --web --host 0.0.0.0 --port \"$PORT\""]
