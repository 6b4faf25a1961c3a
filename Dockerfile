# newsbot's image, built by its users (no image is published): `docker build -t newsbot .` or `docker compose up`.
# It runs the same install script as `make` and CI: runtime dependencies only (CPU torch, no test tools),
# newsbot installed non-editable, and the embedding model prepared (exported to ONNX) at build time, so that
# nothing is downloaded or exported when the container starts.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VENV=/opt/newsbot/venv \
    NEWSBOT_EDITABLE=0 \
    MODEL_CACHE_DIR=/opt/newsbot/models \
    PATH=/opt/newsbot/venv/bin:$PATH

WORKDIR /opt/newsbot/src
COPY . .
RUN scripts/install.sh runtime \
    && groupadd --system --gid 10001 newsbot \
    && useradd --system --uid 10001 --gid 10001 --home-dir /srv/newsbot --create-home newsbot \
    && mkdir -p /srv/newsbot/data \
    && chown -R 10001:10001 /srv/newsbot

# The index, the bot state (unless DATABASE_URL names PostgreSQL) and uploads live in data/.
WORKDIR /srv/newsbot
VOLUME ["/srv/newsbot/data"]
USER 10001:10001
# Webhook mode (WEBHOOK_URL) listens here and serves GET /healthz; long polling needs no port.
EXPOSE 8443
CMD ["newsbot", "run"]
