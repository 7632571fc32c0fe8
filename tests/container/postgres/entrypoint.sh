#!/bin/sh
# PostgreSQL for the container tests, from Debian's own package: the subset of the official image's
# start-up that docker-compose.yml relies on (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB; the data
# in /var/lib/postgresql/data; password sign-in over the network).
set -eu
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s' "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}" > "$pwfile"
    # UTF-8, as the official image: with no locale set initdb would choose SQL_ASCII, and psycopg hands
    # SQL_ASCII text back as bytes (SQLAlchemy then fails reading the server's version)
    "$PGBIN/initdb" -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" --pwfile="$pwfile" \
        --encoding=UTF8 --locale=C.UTF-8 --auth-host=scram-sha-256 --auth-local=trust >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    db="${POSTGRES_DB:-${POSTGRES_USER:-postgres}}"
    if [ "$db" != postgres ]; then
        "$PGBIN/postgres" --single -D "$PGDATA" postgres <<SQL >/dev/null
CREATE DATABASE "$db" OWNER "${POSTGRES_USER:-postgres}";
SQL
    fi
fi
exec "$PGBIN/postgres" -D "$PGDATA" -c listen_addresses='*'
