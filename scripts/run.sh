#!/usr/bin/env bash
# Serves Odoo with meso_inventory and its demo data on http://localhost:8069
# (login admin / admin). Creates the database on first run, updates it after.
# The console gets a few progress lines; Odoo's own output goes to log files it names
# (MESO_RUN_LOG=- keeps the server's log on the console). MESO_DB and MESO_HTTP_PORT
# choose another database and port.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

DB=${MESO_DB:-meso_demo}
PORT=${MESO_HTTP_PORT:-8069}
odoo=("$MESO_VENV/bin/python" "$ODOO_SRC/odoo-bin" -c "$MESO_CONF" -d "$DB")

install_log=$MESO_STATE/install-$DB.log
if psql_exists=$(PGPASSWORD=$MESO_DB_PASSWORD psql -h "$MESO_DB_HOST" -p "$MESO_DB_PORT" -U "$MESO_DB_USER" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='$DB'") && [ "$psql_exists" = 1 ]; then
  say "Updating meso_inventory in database $DB (log: $install_log)"
  mode=(-u meso_inventory)
else
  say "Creating database $DB with meso_inventory and its demo data, a few minutes (log: $install_log)"
  mode=(-i meso_inventory)
fi
if ! "${odoo[@]}" "${mode[@]}" --stop-after-init --log-level=warn >"$install_log" 2>&1; then
  tail -n 40 "$install_log" >&2
  die "Installing meso_inventory in $DB failed (full log: $install_log)."
fi
if grep -qE " (ERROR|CRITICAL) " "$install_log"; then
  say "Odoo logged errors while loading meso_inventory: see $install_log"
fi

server_log=${MESO_RUN_LOG:-$MESO_STATE/odoo-$DB.log}
logfile=()
if [ "$server_log" != - ]; then
  logfile=(--logfile="$server_log")
  say "Odoo's log: $server_log"
fi
say "Odoo is starting on http://localhost:$PORT (login admin / admin); Ctrl-C stops it"
exec "${odoo[@]}" --db-filter="^$DB\$" --http-port="$PORT" "${logfile[@]}" "$@"
