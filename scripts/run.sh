#!/usr/bin/env bash
# Serves Odoo with meso_inventory and its demo data on http://localhost:8069
# (login admin / admin). Creates the database on first run, updates it after.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

DB=${MESO_DB:-meso_demo}
PORT=${MESO_HTTP_PORT:-8069}
odoo=("$MESO_VENV/bin/python" "$ODOO_SRC/odoo-bin" -c "$MESO_CONF" -d "$DB")

if psql_exists=$(PGPASSWORD=$MESO_DB_PASSWORD psql -h "$MESO_DB_HOST" -p "$MESO_DB_PORT" -U "$MESO_DB_USER" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='$DB'") && [ "$psql_exists" = 1 ]; then
  say "Updating meso_inventory in database $DB"
  "${odoo[@]}" -u meso_inventory --stop-after-init --log-level=warn
else
  say "Creating database $DB with meso_inventory and its demo data"
  "${odoo[@]}" -i meso_inventory --stop-after-init --log-level=warn
fi
say "Odoo is starting on http://localhost:$PORT (login admin / admin); Ctrl-C stops it"
exec "${odoo[@]}" --db-filter="^$DB\$" --http-port="$PORT" "$@"
