# syntax=docker/dockerfile:1
# One image for the five services; each Deployment picks its service with `python -m services.<name>`
# (and the migration Job runs `python -m services.migrate <name>`).
#
# Two stages. The build stage installs the dependencies from the lock file, every file checked against
# its hash, into a virtualenv, before any of the code is copied: a change of the code rebuilds only the
# last layers. The runtime stage carries that virtualenv and the code the services run (dispatch_common,
# services, proto, data), run from /app; no pip cache, no build tools, no development servers
# (nats-server, nx-27017), no devtools/, tests/ or bench/. The base is pinned by digest (the manifest
# list of python:3.11-slim-bookworm; refresh it with `docker buildx imagetools inspect <tag>`).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:b18992999dbe963a45a8a4da40ac2b1975be1a776d939d098c647482bcad5cba

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements/production.lock /tmp/production.lock
RUN /opt/venv/bin/pip install --require-hashes --no-deps -r /tmp/production.lock

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PATH=/opt/venv/bin:$PATH \
    ENVIRONMENT=production \
    HOST=0.0.0.0
# A numeric user and group: the manifests' runAsUser/runAsGroup 10001, which the kubelet verifies.
RUN groupadd --system --gid 10001 dispatch \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin dispatch
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY proto ./proto
COPY data ./data
COPY dispatch_common ./dispatch_common
COPY services ./services
COPY console ./console
USER 10001:10001
CMD ["python", "-m", "services.intake"]
