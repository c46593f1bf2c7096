#!/usr/bin/env bash
# Runs the whole test suite: a fresh database with meso_inventory installed,
# then pytest-odoo over the addon's tests. Extra arguments go to pytest, e.g.
#   scripts/test.sh -k test_fefo
set -euo pipefail
MESO_WITH_BROWSER=${MESO_WITH_BROWSER:-1}
export MESO_WITH_BROWSER
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

say "Linting (ruff, pylint-odoo)"
bash "$MESO_ROOT/scripts/lint.sh"

DB=${MESO_TEST_DB:-meso_test}
say "Creating a fresh test database $DB"
PGPASSWORD=$MESO_DB_PASSWORD dropdb --if-exists -h "$MESO_DB_HOST" -p "$MESO_DB_PORT" -U "$MESO_DB_USER" "$DB"
rm -rf "$MESO_STATE/filestore/filestore/$DB"
log=$MESO_STATE/install-$DB.log
if ! "$MESO_VENV/bin/python" "$ODOO_SRC/odoo-bin" -c "$MESO_CONF" -d "$DB" --db-filter="^$DB\$" \
    --stop-after-init --log-level=warn -i meso_inventory >"$log" 2>&1; then
  tail -n 60 "$log" >&2
  die "Installing meso_inventory in $DB failed (full log: $log)."
fi
# Odoo reports some loading errors in its log without failing the command.
if grep -E " (ERROR|CRITICAL) |demo data failed" "$log" >&2; then
  die "Installing meso_inventory in $DB logged errors (full log: $log)."
fi

# The tests' own HTTP server must not collide with a running "make run".
TEST_CONF=$MESO_STATE/odoo-test.conf
sed "s/^http_interface.*/&\nhttp_port = ${MESO_TEST_HTTP_PORT:-8169}/" "$MESO_CONF" > "$TEST_CONF"

cd "$MESO_ROOT"
say "Running the tests"
set +e
"$MESO_VENV/bin/pytest" -p no:cacheprovider --odoo-config "$TEST_CONF" --odoo-database "$DB" \
  --odoo-http -q "${@:-meso_inventory/tests}"
rc=$?
set -e
# pytest exits 5 when nothing was collected: a suite that ran nothing has failed.
exit $rc
