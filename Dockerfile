# The reference gaming backend's image: what the ECS task definitions run.
# In AWS, DATABASE_URL (RDS) and REDIS_URL (ElastiCache) are set by the task definition; without
# them the container starts embedded PostgreSQL and Redis under /var/lib/gamebackend (demo only).
#   docker build -t gamebackend . && docker run -p 8000:8000 -e DATABASE_URL=... -e REDIS_URL=... gamebackend

FROM python:3.11-slim AS build
WORKDIR /src
# Only what the wheel needs (not the local .venv, tests or Terraform state).
COPY pyproject.toml README.md ./
COPY canaryctl ./canaryctl
COPY gamebackend ./gamebackend
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GAMEBACKEND_DATA_DIR=/var/lib/gamebackend
RUN useradd --system --uid 10001 --home-dir /var/lib/gamebackend --create-home gamebackend
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER gamebackend
WORKDIR /var/lib/gamebackend
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
# Exec form: uvicorn gets SIGTERM directly and drains in-flight requests (graceful shutdown).
CMD ["gamebackend", "serve", "--host", "0.0.0.0", "--port", "8000"]
