# bouncer: a slim, non-root image that runs `bouncer serve`.
FROM python:3.11-slim AS build
ENV UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv
WORKDIR /srv/bouncer
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY app ./app
COPY migrations ./migrations
COPY alembic.ini ./
RUN uv sync --frozen --no-dev

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /srv/bouncer bouncer \
    && mkdir -p /var/lib/bouncer && chown bouncer /var/lib/bouncer
WORKDIR /srv/bouncer
COPY --from=build /srv/bouncer /srv/bouncer
ENV PATH=/srv/bouncer/.venv/bin:$PATH \
    DATA_DIR=/var/lib/bouncer \
    LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
USER bouncer
VOLUME ["/var/lib/bouncer"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
CMD ["bouncer", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
