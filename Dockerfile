# syntax=docker/dockerfile:1

# One image for every process of the platform (web, worker, beat, flower, migrate): the
# compose file and any orchestrator pick the process with the command.

FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /build
# Only the dependency list and the pins come in here, so a change to the source reuses this
# layer and does not reinstall the dependencies. The platform itself is not installed as a
# package: its source is copied into the runtime stage as it is.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip install --constraint constraints.txt --requirement requirements.txt


FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=config.settings \
    WEB_CONCURRENCY=2

RUN groupadd --system --gid 10001 weft \
    && useradd --system --uid 10001 --gid weft --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin weft

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
COPY . .
# The code stays owned by root, so the platform cannot rewrite itself; only DATA_DIR (var/)
# is writable. An empty named volume mounted on var/ or var/static takes this ownership on
# first use, which lets beat write its schedule and collectstatic fill the static volume.
RUN mkdir -p var/static && chown -R weft:weft var

# Numeric, so that orchestrators enforcing "run as non-root" can verify it without /etc/passwd.
USER 10001:10001

EXPOSE 8000

# Liveness only: /health/ready also probes the database and the broker, and an outage there
# must not mark every web container unhealthy. The Host header is "localhost", which
# ALLOWED_HOSTS has to admit (docker-compose.yml always adds it).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8000/health', timeout=4)"]

CMD ["python", "-m", "uvicorn", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000"]
