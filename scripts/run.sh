#!/usr/bin/env bash
# Serves Odoo with meso_inventory and its demo data on http://localhost:8069
# (login admin / admin). Creates the database on first run, updates it after; one Odoo
# process installs or updates the addon, then serves.
# The console gets a few progress lines; Odoo's own output goes to the log file it names
# (MESO_RUN_LOG=- keeps the server's log on the console). MESO_DB and MESO_HTTP_PORT
# choose another database and port.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

DB=${MESO_DB:-meso_demo}
PORT=${MESO_HTTP_PORT:-8069}
odoo=("$MESO_VENV/bin/python" "$ODOO_SRC/odoo-bin" -c "$MESO_CONF" -d "$DB"
  --db-filter="^$DB\$" --http-port="$PORT")

server_log=${MESO_RUN_LOG:-$MESO_STATE/odoo-$DB.log}
if psql_exists=$(PGPASSWORD=$MESO_DB_PASSWORD psql -h "$MESO_DB_HOST" -p "$MESO_DB_PORT" -U "$MESO_DB_USER" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='$DB'") && [ "$psql_exists" = 1 ]; then
  say "Updating meso_inventory in database $DB (log: $server_log)"
  odoo+=(-u meso_inventory)
else
  # A fresh database is a copy of a template holding Odoo's modules that meso_inventory
  # depends on, with their demo data (Odoo loads demo data for a module only when every
  # module it depends on has it): built once per Odoo source and dependency list, in
  # about a minute and a half, then copied by Odoo's own `db duplicate` (database and
  # filestore, with a new database id) in seconds. Only the addon is installed then.
  depends=$("$MESO_VENV/bin/python" -c 'import ast, sys; print(",".join(ast.literal_eval(open(sys.argv[1]).read())["depends"]))' \
    "$MESO_ROOT/meso_inventory/__manifest__.py")
  key=$(printf '%s\n%s\n' "$odoo_stamp" "$depends" | sha1sum | cut -c1-10)
  template=meso_odoo_$key
  pg=(-h "$MESO_DB_HOST" -p "$MESO_DB_PORT" -U "$MESO_DB_USER")
  export PGPASSWORD=$MESO_DB_PASSWORD
  if [ "$(psql "${pg[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$template'")" != 1 ]; then
    template_log=$MESO_STATE/$template.log
    say "Building the template database $template: Odoo's $depends with their demo data, once (log: $template_log)"
    building=${template}_building
    PGOPTIONS=--client-min-messages=warning dropdb "${pg[@]}" --if-exists "$building"
    rm -rf "$MESO_STATE/filestore/filestore/$building"
    if ! "$MESO_VENV/bin/python" "$ODOO_SRC/odoo-bin" -c "$MESO_CONF" -d "$building" -i "$depends" \
        --stop-after-init --log-level=warn >"$template_log" 2>&1 \
        || grep -qE " (ERROR|CRITICAL) " "$template_log"; then
      tail -n 40 "$template_log" >&2
      die "Building the template database $template failed (full log: $template_log)."
    fi
    # templates of another Odoo source or dependency list are of no use any more
    for old in $(psql "${pg[@]}" -d postgres -tAc "SELECT datname FROM pg_database WHERE datname ~ '^meso_odoo_[0-9a-f]{10}\$' AND datname <> '$template'"); do
      "$MESO_VENV/bin/python" "$ODOO_SRC/odoo-bin" db -c "$MESO_CONF" drop "$old" >/dev/null 2>&1 || true
    done
    "$MESO_VENV/bin/python" "$ODOO_SRC/odoo-bin" db -c "$MESO_CONF" rename "$building" "$template" \
      >>"$template_log" 2>&1 || die "Renaming the template database failed (log: $template_log)."
  fi
  say "Creating database $DB from $template, then installing meso_inventory and its demo data (log: $server_log)"
  if ! copied=$("$MESO_VENV/bin/python" "$ODOO_SRC/odoo-bin" db -c "$MESO_CONF" duplicate "$template" "$DB" 2>&1); then
    tail -n 40 <<<"$copied" >&2
    die "Copying the template database $template to $DB failed."
  fi
  odoo+=(-i meso_inventory)
fi

# Odoo answers on the port at once; a page asked for during the install waits for it.
# Such a request outlasts Odoo's real-time limit (120 s), on which a threaded server
# restarts itself (and, from a virtualenv, fails to): no limit for this local server.
odoo+=(--limit-time-real=0)
if [ "$server_log" = - ]; then
  exec "${odoo[@]}" "$@"
fi

: >"$server_log"
"${odoo[@]}" --logfile="$server_log" "$@" &
server=$!
# Ctrl-C or a TERM stops Odoo (a second signal cuts its graceful shutdown short)
trap 'kill -TERM "$server" 2>/dev/null || true; wait "$server" || true; exit 130' INT TERM
ready=0
while kill -0 "$server" 2>/dev/null; do
  if grep -q "Failed to initialize database\|Failed to load registry" "$server_log"; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" || true
    tail -n 40 "$server_log" >&2
    die "Installing meso_inventory in $DB failed (full log: $server_log)."
  fi
  if grep -q "Registry loaded in" "$server_log"; then
    if grep -qE " (ERROR|CRITICAL) " "$server_log"; then
      say "Odoo logged errors while loading meso_inventory: see $server_log"
    fi
    say "Odoo is serving http://localhost:$PORT (login admin / admin); Ctrl-C stops it"
    ready=1
    break
  fi
  sleep 0.5
done
if [ "$ready" = 0 ]; then
  wait "$server" || true
  tail -n 40 "$server_log" >&2
  die "Odoo stopped before serving $DB (full log: $server_log)."
fi
wait "$server"
