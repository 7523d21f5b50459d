# CPU image running `briefbot run`. Install steps mirror .ci/run, which CI exercises.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    BRIEFBOT_DATABASE_URL=sqlite:////data/briefbot.db

WORKDIR /app

# The CPU build of torch first, from PyTorch's CPU index; PyPI's default build is CUDA.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN python -m pip install --upgrade pip \
    && python -m pip install --index-url "$TORCH_INDEX" torch==2.13.0

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY models ./models
COPY articles ./articles
RUN python -m pip install ".[postgres]" \
    && useradd --create-home --uid 10001 briefbot \
    && mkdir -p /data && chown briefbot /data

USER briefbot
VOLUME ["/data"]
# Webhook mode (`briefbot run --webhook URL --listen 0.0.0.0:8443`) serves here, /health too.
EXPOSE 8443
# BRIEFBOT_TOKEN (and the other settings) come from the environment at `docker run`.
CMD ["briefbot", "run"]
