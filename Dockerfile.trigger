# certsync trigger image: `python -m trigger`, the webhook Event Notifications calls on rotation.
# Dependencies come only from the hash-pinned lock; the final stage has no build tools and no root.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements.lock /tmp/requirements.lock
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --no-deps -r /tmp/requirements.lock

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8080
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin certsync
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY shared/ /app/shared/
COPY trigger/ /app/trigger/
# Compiled once here: with PYTHONDONTWRITEBYTECODE every start would compile the app again, and
# Code Engine bills the vCPU-seconds of each start (the venv's packages pip already compiled).
RUN python -m compileall -q /app
USER 10001
EXPOSE 8080
# ENTRYPOINT, not CMD: Code Engine's `run_arguments` (`ibmcloud ce jobrun submit --argument`)
# replace an image's CMD and are appended to its ENTRYPOINT (Code Engine docs `cmd-args.md`).
ENTRYPOINT ["python", "-m", "trigger"]
