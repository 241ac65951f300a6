# One image recipe for every service (and the web console: SERVICE=console MODULE=console):
#   docker build --build-arg SERVICE=intake --build-arg MODULE=intake .
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_PYTHON_DOWNLOADS=never

RUN pip install "uv==0.13.9"
WORKDIR /app

COPY pyproject.toml uv.lock ./
COPY libs ./libs
COPY services ./services
COPY web ./web

ARG SERVICE
ARG MODULE
RUN test -n "$SERVICE" && test -n "$MODULE" \
 && uv sync --frozen --no-dev --package "helpdesk-${SERVICE}" \
 && useradd --system --uid 10001 helpdesk \
 && install -d -o helpdesk -m 0700 /var/lib/helpdesk/backups

ENV PATH=/app/.venv/bin:$PATH \
    SERVICE_MODULE=${MODULE} \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8000
USER helpdesk
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=2).status == 200 else 1)"
CMD ["sh", "-c", "exec python -m \"$SERVICE_MODULE\""]
