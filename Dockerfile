# syntax=docker/dockerfile:1
#
# One Dockerfile, one target per service; docker-compose.yml picks the target:
#   docker build --target gateway -t canaduck-gateway .
#   docker build --target weather -t canaduck-weather .
#   docker build --target jokes   -t canaduck-jokes   .
#
# Each target installs only its service's extra (pip install ".[gateway]" ...) into a
# virtualenv in a build stage, then copies that virtualenv alone into a fresh slim image:
# no pip cache, no build tree, no source checkout and no compiler in what runs.

# Python 3.11 is the line CI tests and type-checks (requires-python, ruff and mypy target
# 3.11), so the images run the interpreter the tests prove. Pinned to a patch release for
# reproducible builds; bump it on purpose (pin the digest too where builds must be bit-exact).
FROM python:3.11.14-slim-bookworm AS base

# ---------------------------------------------------------------- build stages
FROM base AS build
# Every dependency ships manylinux wheels, so the build stage needs no compiler either.
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
# pyproject.toml names README.md as the package's readme, so setuptools needs it to build.
COPY pyproject.toml README.md /src/
COPY canaduck /src/canaduck
COPY gateway /src/gateway
COPY weather_service /src/weather_service
COPY joke_service /src/joke_service
# Commands run from / (the default WORKDIR), so `python -m <package>` imports the installed
# copy in /opt/venv, not the source tree in /src.

FROM build AS build-gateway
# gateway.assets fetches GraphiQL's browser files from the npm registry, checks their pinned
# SRI hashes and writes them into the installed package (gateway/static/vendor), so the
# GraphiQL page works with no CDN; --check fails the build if any file is missing.
RUN pip install --no-cache-dir "/src[gateway]" \
    && python -m gateway.assets \
    && python -m gateway.assets --check

FROM build AS build-weather
RUN pip install --no-cache-dir "/src[weather]"

FROM build AS build-jokes
# /data is made here and copied with its owner set below: the runtime image never runs
# a command as root.
RUN pip install --no-cache-dir "/src[jokes]" \
    && install --directory --mode=0750 /data

# ---------------------------------------------------------------- runtime base
FROM base AS runtime
# PYTHONDONTWRITEBYTECODE: pip compiled the bytecode at install time and the root
#   filesystem is read-only in compose, so never try to write .pyc at run time.
# PYTHONUNBUFFERED: log lines reach `docker logs` at once, not when a buffer fills.
# PYTHONFAULTHANDLER: a hard crash prints every thread's traceback.
# CANADUCK_LOG_FORMAT: one JSON object per line for `docker logs` and log shippers, even
#   under `docker run -t` (the services' "auto" would switch to console lines on a TTY).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONFAULTHANDLER=1 \
    CANADUCK_LOG_FORMAT=json \
    PATH=/opt/venv/bin:$PATH
# A fixed, unprivileged uid/gid (not root, not a login user) that orchestrators can verify.
RUN groupadd --system --gid 10001 canaduck \
    && useradd --system --uid 10001 --gid canaduck --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin canaduck
WORKDIR /app
USER 10001:10001
LABEL org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.vendor="Canaduck"

# ---------------------------------------------------------------- service targets
# The virtualenv is copied as root-owned: the service user can run the code, not change it.
# HEALTHCHECK uses the standard library (slim images have no curl); urlopen raises, so the
# check fails, on a refused connection, a timeout or any 4xx/5xx answer.

FROM runtime AS gateway
LABEL org.opencontainers.image.title="canaduck-gateway" \
      org.opencontainers.image.description="Canaduck GraphQL/REST gateway"
COPY --from=build-gateway /opt/venv /opt/venv
# One worker process per CPU the container may use (python -m gateway --workers auto);
# compose shares the cache between them through Redis. Kubernetes sets 1 (the HPA scales).
ENV WEB_CONCURRENCY=auto
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
CMD ["python", "-m", "gateway", "--host", "0.0.0.0", "--port", "8000"]

FROM runtime AS weather
LABEL org.opencontainers.image.title="canaduck-weather" \
      org.opencontainers.image.description="Canaduck weather REST service"
COPY --from=build-weather /opt/venv /opt/venv
EXPOSE 8001
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8001/health', timeout=2)"]
CMD ["python", "-m", "weather_service", "--host", "0.0.0.0", "--port", "8001"]

FROM runtime AS jokes
LABEL org.opencontainers.image.title="canaduck-jokes" \
      org.opencontainers.image.description="Canaduck joke REST service (SQLite)"
COPY --from=build-jokes /opt/venv /opt/venv
# The SQLite file lives on a volume at /data, created and seeded at first start. The
# directory belongs to the service user, so a new named volume mounted on it inherits
# that owner and the non-root process can write the database.
COPY --from=build-jokes --chown=10001:10001 /data /data
ENV JOKE_DB_PATH=/data/jokes.sqlite3
VOLUME ["/data"]
EXPOSE 8002
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8002/health', timeout=2)"]
CMD ["python", "-m", "joke_service", "--host", "0.0.0.0", "--port", "8002"]
