#!/usr/bin/env bash
# Benchmarks of meso_inventory against Odoo's own equivalent flows, measured in the same run.
#
#   bench/run.sh [small|large]
#
# Creates its own database (MESO_BENCH_DB, default meso_bench: dropped and recreated unless
# MESO_BENCH_REUSE=1), installs meso_inventory without demo data, generates data at the
# scale asked (argument or MESO_BENCH_SCALE, default small), runs the benchmarks and prints
# one table. MESO_BENCH_ONLY=session,batch,thresholds,export,rpc runs a subset;
# MESO_BENCH_EXPLAIN=1 also prints query shapes and a profile of the hot paths.
# Never touches the databases of make run / make test.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# own config file and filestore, apart from make run / make test
MESO_STATE=${MESO_STATE:-$here/../.local/bench}
export MESO_STATE
source "$here/../scripts/setup.sh"

SCALE=${1:-${MESO_BENCH_SCALE:-small}}
case "$SCALE" in
  small) limit=${MESO_BENCH_TIMEOUT:-2400} ;;
  large) limit=${MESO_BENCH_TIMEOUT:-14400} ;;
  *) die "Unknown scale '$SCALE': use small or large." ;;
esac
DB=${MESO_BENCH_DB:-meso_bench}
ONLY=${MESO_BENCH_ONLY:-session,batch,thresholds,export,rpc}
for protected in "${MESO_DB:-meso_demo}" "${MESO_TEST_DB:-meso_test}"; do
  [ "$DB" != "$protected" ] || die "MESO_BENCH_DB must not be $protected: the benchmark drops it."
done
out=$MESO_STATE/bench-$SCALE
mkdir -p "$out"
python=("$MESO_VENV/bin/python")
odoo=("${python[@]}" "$ODOO_SRC/odoo-bin" -c "$MESO_CONF" -d "$DB" --db-filter="^$DB\$")
export PGPASSWORD=$MESO_DB_PASSWORD
pg=(-h "$MESO_DB_HOST" -p "$MESO_DB_PORT" -U "$MESO_DB_USER")

exists=$(psql "${pg[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'")
if [ "${MESO_BENCH_REUSE:-0}" = 1 ] && [ "$exists" = 1 ]; then
  say "Reusing the benchmark database $DB"
else
  say "Creating the benchmark database $DB (meso_inventory, no demo data)"
  dropdb --if-exists "${pg[@]}" "$DB"
  rm -rf "$MESO_STATE/filestore/filestore/$DB"
  log=$out/install.log
  if ! timeout 900 "${odoo[@]}" --stop-after-init --log-level=warn --without-demo=all \
      -i meso_inventory >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "Installing meso_inventory in $DB failed (full log: $log)."
  fi
  if grep -E " (ERROR|CRITICAL) " "$log" >&2; then
    die "Installing meso_inventory in $DB logged errors (full log: $log)."
  fi
fi

cd "$here"
explain=()
[ "${MESO_BENCH_EXPLAIN:-0}" = 1 ] && explain=(--explain)
in_process=$(tr ',' '\n' <<<"$ONLY" | grep -v '^rpc$' | paste -sd, || true)
started=$SECONDS
say "Scale $SCALE: generating data and measuring (bounded to ${limit}s)"
if [ -n "$in_process" ]; then
  timeout "$limit" "${python[@]}" runner.py -c "$MESO_CONF" -d "$DB" --scale "$SCALE" \
    --only "$in_process" --out "$out/bench.json" "${explain[@]}"
else
  timeout "$limit" "${python[@]}" runner.py -c "$MESO_CONF" -d "$DB" --scale "$SCALE" \
    --only none --out "$out/bench.json"
fi
reports=("$out/bench.json")
if grep -qw rpc <<<"$ONLY"; then
  remaining=$((limit - (SECONDS - started)))
  [ "$remaining" -gt 60 ] || die "No time left for the concurrent benchmark."
  say "Concurrent benchmark: Odoo with 4 workers on 127.0.0.1"
  timeout "$remaining" "${python[@]}" runner.py -c "$MESO_CONF" -d "$DB" --scale "$SCALE" \
    --rpc-prepare "$out/rpc-ids.json"
  timeout "$remaining" "${python[@]}" rpc_load.py --python "${python[0]}" \
    --odoo-bin "$ODOO_SRC/odoo-bin" -c "$MESO_CONF" -d "$DB" --ids "$out/rpc-ids.json" \
    --out "$out/rpc.json" --log "$out/rpc-server.log"
  reports+=("$out/rpc.json")
fi
"${python[@]}" report.py "${reports[@]}" | tee "$out/results.md"
say "Results: $out/results.md (raw figures: ${reports[*]})"
