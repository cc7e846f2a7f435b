# syntax=docker/dockerfile:1
# fraudscore-trainer: the fraudscore image plus Python and the trainer, for `fraudscore retrain`
# (deploy/k8s/retrain-cronjob.yaml). The fraudscore image itself has no Python: the scorers do
# not train. Build it FROM the fraudscore image of the same release, from the repository root
# (trainer.Dockerfile.dockerignore beside this file keeps the context to services/trainer/):
#   docker build -f deploy/docker/Dockerfile -t fraudscore:local .
#   docker build -f deploy/docker/trainer.Dockerfile --build-arg FRAUDSCORE_IMAGE=fraudscore:local -t fraudscore-trainer:local .
ARG FRAUDSCORE_IMAGE=fraudscore:0.1.0
FROM ${FRAUDSCORE_IMAGE}

USER root
# The pinned wheels (services/trainer/requirements.txt) need CPython 3.10-3.13: bookworm's is
# 3.11. LightGBM's wheel loads OpenMP (libgomp1).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv libgomp1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Where the CLI looks for the trainer: <project root>/services/trainer, the root being the
# folder above the code that holds package.json and schemas/ (services/common/src/paths.ts),
# which in the image is /app.
COPY services/trainer ./services/trainer
# The venv is built now, so nothing is installed at run time (the root filesystem is read-only
# in Kubernetes). At run time setup.sh only checks it, but opens venv.lock for writing: the
# lock lives in /tmp (an emptyDir in the CronJob). No .pyc files on a read-only filesystem.
ENV FRAUDSCORE_CACHE=/opt/fraudscore-cache \
    PYTHONDONTWRITEBYTECODE=1
RUN bash services/trainer/setup.sh >/dev/null \
 && ln -sf /tmp/fraudscore-venv.lock /opt/fraudscore-cache/venv.lock
USER 1000:1000
# Not a server: the scorer's health check does not apply.
HEALTHCHECK NONE
CMD ["retrain", "--help"]
