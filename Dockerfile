# Tend's one image: `tend web`, `tend worker`, `tend clock` and `tend db upgrade`.
#
#   docker build -t tend:0.1.0 .            (or `make image`: buildah, podman or docker)
#   docker run --rm --read-only --tmpfs /tmp -e DATABASE_URL=... -e REDIS_URL=... \
#     -e TEND_SECRET_KEY=... -e TEND_PUBLIC_URL=... -p 8000:8000 tend:0.1.0 web
#
# BASE is any Debian-like image with Python 3.11 as `python3` and `python3 -m venv`:
# the official slim image by default; `make image-test` passes a bookworm base made
# here with debootstrap and Debian's own python3. Dependencies come from
# requirements.lock only (pinned and hashed); Tend itself is installed without them.
ARG BASE=python:3.11-slim-bookworm
# checkov:skip=CKV_DOCKER_7: BASE defaults to a fixed tag (python:3.11-slim-bookworm); checkov cannot resolve the ARG

# deps: the locked dependencies in the venv /opt/tend (rebuilt only when the lock changes).
# pip lives in a separate venv and installs into /opt/tend through --python, so the
# runtime venv never contains pip or setuptools.
FROM ${BASE} AS deps
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# tini as PID 1 forwards SIGTERM to `tend` (the kernel drops signals to a PID 1 that set no
# handler, so `tend clock` would otherwise wait out the grace period) and reaps worker children.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tini >/dev/null \
 && cp /usr/bin/tini-static /usr/local/bin/tini
RUN python3 -m venv /opt/pip \
 && python3 -m venv --without-pip /opt/tend \
 && /opt/tend/bin/python -c "import pathlib, site; pathlib.Path(site.getsitepackages()[0], 'tend-app.pth').write_text('/opt/tend-app\n')"
COPY requirements.lock ./
# A network that re-signs TLS can hand its CA bundle in as the secret pip_ca
# (`--secret id=pip_ca,src=/etc/ssl/certs/ca-certificates.crt`); it never enters a layer.
# Wheels only, but for recurrent (pure Python, published as an sdist alone; its hash is pinned like the rest).
RUN --mount=type=secret,id=pip_ca \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi \
 && /opt/pip/bin/pip --python /opt/tend/bin/python install --require-hashes --only-binary=:all: --no-binary=recurrent -r requirements.lock

# app: Tend itself, without dependencies, into /opt/tend-app (on /opt/tend's path through
# tend-app.pth), byte-compiled by pip so a read-only root never needs to write .pyc files.
FROM deps AS app
COPY pyproject.toml README.md ./
COPY service ./service
COPY workers ./workers
COPY calendars ./calendars
RUN --mount=type=secret,id=pip_ca \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi \
 && /opt/pip/bin/pip --python /opt/tend/bin/python install --no-deps --target /opt/tend-app .

FROM ${BASE}
# A fixed non-root identity (the chart's runAsUser/runAsGroup) and no home to write to.
RUN groupadd --gid 10001 tend \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin tend
COPY --from=deps /usr/local/bin/tini /usr/local/bin/tini
COPY --from=deps /opt/tend /opt/tend
COPY --from=app /opt/tend-app /opt/tend-app
COPY scripts/container_healthcheck.py /opt/tend/healthcheck.py
# Only /tmp needs to be writable (gunicorn's heartbeat files, temporary files); with
# TEND_SECRET_KEY and DATABASE_URL set, Tend writes nothing else. WORKDIR is where
# `tend up` would keep var/ (SQLite, a generated key) on a writable root, for trying it.
ENV PATH=/opt/tend-app/bin:/opt/tend/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    TEND_PORT=8000
WORKDIR /srv/tend
RUN chown 10001:10001 /srv/tend
USER 10001:10001
EXPOSE 8000
# Web answers GET /healthz; worker and clock have no port, so for them the check is that
# the process is up (Kubernetes uses the chart's probes, not this).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/opt/tend/bin/python", "/opt/tend/healthcheck.py"]
ENTRYPOINT ["/usr/local/bin/tini", "--", "tend"]
CMD ["web"]

# Labels last, so that a new commit (REVISION) rebuilds no layer above.
# `make image` passes the version from pyproject.toml, the commit and the origin remote's URL.
# The project has not chosen a licence yet: NOASSERTION (SPDX) until it does.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=unknown
ARG LICENSE=NOASSERTION
LABEL org.opencontainers.image.title="tend" \
      org.opencontainers.image.description="Reminders, check-ins, calendar feeds and streaks for partners' rituals and promises" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="${LICENSE}"
