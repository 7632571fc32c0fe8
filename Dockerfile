# kpidash service image: build wheels in one stage, run as a non-root user in the next.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY api ./api
COPY cli ./cli
COPY core ./core
COPY dashboard ./dashboard
COPY etl ./etl
COPY kpis ./kpis
COPY sample_data ./sample_data
COPY scheduler ./scheduler
# kpidash and every dependency as wheels, with the PostgreSQL driver for the app database
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

FROM python:3.11-slim AS runtime
RUN useradd --create-home --uid 10001 kpidash
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels "kpidash[postgres]" && rm -rf /wheels
# The warehouse, archive, packs and lock files live on the volume, owned by the service user.
RUN mkdir -p /data && chown kpidash:kpidash /data
USER kpidash
WORKDIR /home/kpidash
ENV KPIDASH_DB=/data/warehouse.duckdb \
    KPIDASH_ARCHIVE_DIR=/data/archive \
    KPIDASH_APP_DB=sqlite:////data/app.db \
    KPIDASH_PACK_DIR=/data/packs \
    KPIDASH_DEMO_USERS=false \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4).status == 200 else 1)"
CMD ["kpidash", "serve", "--host", "0.0.0.0", "--port", "8000"]
