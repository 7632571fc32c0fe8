# kpidash service image: the dependencies, then kpidash's own wheel, then a runtime stage that runs as
# a non-root user.
#
# One file for a normal build and an offline one (docs/operations.md, "Building the image offline"):
#   BASE_IMAGE     any Debian-like image with Python 3.11+ and its venv module. Default python:3.11-slim
#                  from a registry; offline, an image made from Debian's own packages (debootstrap, then
#                  `docker import` / `podman import`), or a base from the authority's own registry.
#   PIP_NO_INDEX   1: every Python package from ./wheelhouse (made on a connected machine with
#                  `pip wheel -c constraints.txt -w wheelhouse '.[postgres]' setuptools wheel`): no network.
#                  0 (default): from the package index PIP_INDEX_URL (PyPI, or the authority's mirror).
ARG BASE_IMAGE=python:3.11-slim

# The dependencies (with the PostgreSQL driver for the app database), named by pyproject.toml and pinned
# by constraints.txt to the versions the tests ran on (README, "Pinned versions"), into the virtual
# environment the image runs: this stage is rebuilt only when they change.
FROM ${BASE_IMAGE} AS dependencies
ARG PIP_NO_INDEX=0
ARG PIP_INDEX_URL=https://pypi.org/simple
ENV PIP_FIND_LINKS=/src/wheelhouse PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY wheelhouse ./wheelhouse
COPY pyproject.toml ./
COPY constraints.txt ./
RUN python3 -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['postgres']))" > requirements.txt \
 && python3 -m venv /opt/kpidash \
 && /opt/kpidash/bin/pip install --quiet -c constraints.txt -r requirements.txt

# kpidash itself, as a wheel (its build backend from the same place as the dependencies).
FROM dependencies AS build
ARG PIP_NO_INDEX=0
ARG PIP_INDEX_URL=https://pypi.org/simple
COPY README.md ./
COPY LICENSE ./
COPY api ./api
COPY cli ./cli
COPY core ./core
COPY dashboard ./dashboard
COPY etl ./etl
COPY kpis ./kpis
COPY sample_data ./sample_data
COPY scheduler ./scheduler
RUN /opt/kpidash/bin/pip wheel --quiet --no-deps --wheel-dir /wheels .

FROM ${BASE_IMAGE} AS runtime
# The warehouse, archive, packs and lock files live on the volume, owned by the service user.
RUN useradd --create-home --uid 10001 kpidash && mkdir -p /data && chown kpidash:kpidash /data
COPY --from=dependencies /opt/kpidash /opt/kpidash
COPY --from=build /wheels /tmp/wheels
RUN /opt/kpidash/bin/pip install --no-cache-dir --quiet --no-index --no-deps /tmp/wheels/kpidash-*.whl \
 && rm -rf /tmp/wheels
USER kpidash
WORKDIR /home/kpidash
ENV PATH=/opt/kpidash/bin:$PATH \
    KPIDASH_DB=/data/warehouse.duckdb \
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
