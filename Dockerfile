# newsbot's image, built by its users (no image is published): `docker build -t newsbot .` or `docker compose up`.
#
# Three stages, so that the image holds what the bot runs and nothing else, and a change to the code reinstalls
# nothing:
#   dependencies  a venv with every runtime package, installed exactly from the hashed lock requirements.lock
#                 (`--no-deps --require-hashes`): no torch, triton or CUDA libraries; the model package without the
#                 sentence-transformers it asks for (the bot runs the model on onnxruntime)
#   export        that venv plus the model-export tools (torch, sentence-transformers, optimum, onnx), which
#                 export the embedding model to ONNX once; this stage is thrown away
#   (final)       the dependencies' venv, the export, and newsbot itself: the code is copied after everything
#                 else (.dockerignore leaves out tests, data and caches)
# The lock is the one `make install` installs from (scripts/install.sh); see the README, Deployment.

FROM python:3.11-slim-bookworm AS dependencies
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/newsbot/venv/bin:$PATH
RUN python -m venv /opt/newsbot/venv
COPY requirements.lock /opt/newsbot/
RUN pip install --no-deps --require-hashes -r /opt/newsbot/requirements.lock

FROM dependencies AS export
# torch from PyPI is its CUDA build (several GB, thrown away with this stage); a machine that reaches PyTorch's
# CPU wheels can pass --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu for that (a 190 MB wheel).
ARG TORCH_INDEX_URL=""
WORKDIR /opt/newsbot/src
RUN sed -n 's/^\([A-Za-z0-9][^ ]*==[^ ]*\).*/\1/p' /opt/newsbot/requirements.lock > /opt/newsbot/pins.txt \
    && pip install --constraint /opt/newsbot/pins.txt ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL" --extra-index-url https://pypi.org/simple} \
        torch==2.13.0 sentence-transformers optimum-onnx onnx
COPY . .
RUN pip install --no-deps . \
    && MODEL_CACHE_DIR=/opt/newsbot/models newsbot model prepare

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MODEL_CACHE_DIR=/opt/newsbot/models \
    PATH=/opt/newsbot/venv/bin:$PATH
RUN groupadd --system --gid 10001 newsbot \
    && useradd --system --uid 10001 --gid 10001 --home-dir /srv/newsbot --create-home newsbot \
    && mkdir -p /srv/newsbot/data \
    && chown -R 10001:10001 /srv/newsbot
COPY --from=dependencies /opt/newsbot/venv /opt/newsbot/venv
COPY --from=export /opt/newsbot/models /opt/newsbot/models
WORKDIR /opt/newsbot/src
COPY . .
# newsbot itself, then the export found where the bot will look (this stage has no torch to make another: a
# mismatch fails the build, not the first start).
RUN pip install --no-deps . \
    && newsbot model prepare

# The index, the bot state (unless DATABASE_URL names PostgreSQL) and uploads live in data/.
WORKDIR /srv/newsbot
VOLUME ["/srv/newsbot/data"]
USER 10001:10001
# Webhook mode (WEBHOOK_URL) listens here and serves GET /healthz; long polling needs no port.
EXPOSE 8443
CMD ["newsbot", "run"]
