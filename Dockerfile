# CPU image running `briefbot run`. Install steps mirror the README's, which CI exercises.
# Everything the bot writes lives under /data (the database, pulled models, the Hugging Face
# cache): mount a volume there. Runs on Linux; Briefbot is POSIX-only.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    BRIEFBOT_DATABASE_URL=sqlite:////data/briefbot.db \
    BRIEFBOT_MODELS_DIR=/data/models \
    HF_HOME=/data/huggingface

# The CPU build of torch first, from PyTorch's CPU index; PyPI's default build is CUDA.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN python -m pip install --index-url "$TORCH_INDEX" torch==2.13.0

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY briefbot ./briefbot
RUN python -m pip install ".[postgres]" \
    && useradd --create-home --uid 10001 briefbot \
    && mkdir -p /data && chown briefbot /data

USER briefbot
WORKDIR /data
VOLUME ["/data"]
# Webhook mode (`briefbot run --webhook URL --listen 0.0.0.0:8443`) serves here, /health too.
EXPOSE 8443
# Works in polling and webhook mode alike: this host's instance has beaten its heartbeat.
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s --retries=3 CMD ["briefbot", "health"]
# BRIEFBOT_TOKEN (and the other settings) come from the environment at `docker run`.
CMD ["briefbot", "run"]
