#!/usr/bin/env bash
# Prepares everything the run and test commands need, and is safe to re-run:
# Debian packages (as root), a PostgreSQL server and role, a virtualenv with
# Odoo 18.0's requirements and ours, and an Odoo config file for this checkout.
# Sourced by run.sh and test.sh; exports MESO_ROOT, MESO_VENV, MESO_CONF, ODOO_SRC.
set -euo pipefail

MESO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MESO_STATE=${MESO_STATE:-$MESO_ROOT/.local}
mkdir -p "$MESO_STATE"

say() { printf '\033[1m[meso]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[meso] %s\033[0m\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

# --- Odoo source -------------------------------------------------------------
source "$MESO_ROOT/scripts/odoo_source.sh"

# --- Debian packages -----------------------------------------------------------
# wkhtmltopdf: Odoo's QWeb PDF reports (the recall report)
apt_packages=(postgresql libldap2-dev libsasl2-dev libpq-dev wkhtmltopdf)
if [ "${MESO_WITH_BROWSER:-0}" = 1 ]; then
  # poppler-utils: pdftotext, with which the tests read the PDFs back
  apt_packages+=(chromium poppler-utils)
fi
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if is_root; then
    say "Installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    die "Missing Debian packages: ${missing[*]}. Install them (sudo apt-get install ${missing[*]}) and re-run."
  fi
fi

# --- PostgreSQL --------------------------------------------------------------
# As root we run Debian's cluster and give Odoo its own role over TCP on
# loopback; a normal user points MESO_DB_* at the server and role they have.
export MESO_DB_HOST=${MESO_DB_HOST:-localhost}
export MESO_DB_PORT=${MESO_DB_PORT:-5432}
export MESO_DB_USER=${MESO_DB_USER:-odoo}
export MESO_DB_PASSWORD=${MESO_DB_PASSWORD:-odoo}
if is_root; then
  pg_version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
  cluster_status=$(pg_lsclusters -h | awk -v v="$pg_version" '$1 == v && $2 == "main" {print $4}')
  if [ -z "$cluster_status" ]; then
    say "Creating PostgreSQL $pg_version cluster"
    pg_createcluster "$pg_version" main >/dev/null
    cluster_status=down
  fi
  if [ "$cluster_status" != online ]; then
    say "Starting PostgreSQL $pg_version"
    pg_ctlcluster "$pg_version" main start
  fi
  for _ in $(seq 1 30); do
    pg_isready -q -h "$MESO_DB_HOST" -p "$MESO_DB_PORT" && break
    sleep 1
  done
  role=$(runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_roles WHERE rolname='$MESO_DB_USER'")
  if [ "$role" != 1 ]; then
    say "Creating PostgreSQL role $MESO_DB_USER"
    runuser -u postgres -- psql -q -c "CREATE ROLE \"$MESO_DB_USER\" LOGIN CREATEDB PASSWORD '$MESO_DB_PASSWORD'"
  fi
fi
pg_isready -q -h "$MESO_DB_HOST" -p "$MESO_DB_PORT" \
  || die "PostgreSQL does not answer on $MESO_DB_HOST:$MESO_DB_PORT. Start it, or set MESO_DB_HOST/MESO_DB_PORT/MESO_DB_USER/MESO_DB_PASSWORD."

# --- Python virtualenv ---------------------------------------------------------
# One virtualenv per set of requirements, shared by every checkout of this user,
# so that a fresh clone does not reinstall Odoo's requirements.
PYTHON=${PYTHON:-python3}
req_key=$(cat "$ODOO_SRC/requirements.txt" "$MESO_ROOT/requirements.txt" <("$PYTHON" --version) | sha1sum | cut -c1-12)
MESO_VENV=${MESO_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/meso_inventory/venv-$req_key}
pip_log=$MESO_STATE/pip.log
if [ ! -f "$MESO_VENV/.complete" ]; then
  say "Building the virtualenv $MESO_VENV (Odoo's requirements and ours; log: $pip_log)"
  rm -rf "$MESO_VENV"
  "$PYTHON" -m venv "$MESO_VENV"
  {
    "$MESO_VENV/bin/pip" install -q --upgrade "pip>=25.3" &&
    # cbor2 5.4.2's sdist needs pkg_resources in its build environment.
    echo "setuptools<70" > "$MESO_STATE/build-constraints.txt" &&
    "$MESO_VENV/bin/pip" install -q --build-constraint "$MESO_STATE/build-constraints.txt" \
      -r "$ODOO_SRC/requirements.txt" -r "$MESO_ROOT/requirements.txt"
  } >"$pip_log" 2>&1 || { grep -v "is ignored" "$pip_log" | tail -n 40 >&2; die "Installing the Python requirements failed (full log: $pip_log)."; }
  touch "$MESO_VENV/.complete"
fi

# Odoo itself is installed in editable mode from its tree, and again only when that
# tree changes: another place (its real path, so that a symlink to the same tree is
# the same tree) or another version (its git commit, else the dates of its release and
# setup files). The stamp of the last install is kept in the virtualenv it went into.
odoo_real=$(cd -P "$ODOO_SRC" && pwd)
odoo_version=
if [ -e "$odoo_real/.git" ]; then
  odoo_version=$(git -C "$odoo_real" rev-parse -q --verify HEAD 2>/dev/null || true)
fi
if [ -z "$odoo_version" ]; then
  odoo_version=$(stat -c %Y "$odoo_real/odoo/release.py" "$odoo_real/setup.py" 2>/dev/null | tr '\n' ' ' || true)
fi
odoo_stamp="$odoo_real ${odoo_version% }"
odoo_stamp_file=$MESO_VENV/.odoo-source
odoo_imported_from_tree() {
  "$MESO_VENV/bin/python" -c "import os, sys, odoo; sys.exit(not os.path.realpath(odoo.__file__).startswith(sys.argv[1] + '/'))" "$odoo_real" 2>/dev/null
}
if [ "$(cat "$odoo_stamp_file" 2>/dev/null)" != "$odoo_stamp" ]; then
  # a virtualenv from before the stamp whose Odoo already is this tree needs no install
  if [ -f "$odoo_stamp_file" ] || ! odoo_imported_from_tree; then
    odoo_log=$MESO_STATE/pip-odoo.log
    say "Installing Odoo from $odoo_real into the virtualenv (log: $odoo_log)"
    "$MESO_VENV/bin/pip" install --no-deps -e "$odoo_real" >"$odoo_log" 2>&1 \
      || { tail -n 40 "$odoo_log" >&2; die "Installing Odoo from $odoo_real failed (full log: $odoo_log)."; }
    odoo_imported_from_tree || die "Odoo does not import from $odoo_real after its install (log: $odoo_log)."
  fi
  printf '%s\n' "$odoo_stamp" > "$odoo_stamp_file"
fi

# Odoo imports some 2,000 Python modules in every process: let Python keep their
# bytecode (its default, which some environments turn off with PYTHONDONTWRITEBYTECODE)
# so that each start reads it instead of compiling them again (about 2.5 s a start
# here). The first Odoo process writes what it compiled next to the sources.
unset PYTHONDONTWRITEBYTECODE

# --- Odoo configuration --------------------------------------------------------
MESO_CONF=$MESO_STATE/odoo.conf
cat > "$MESO_CONF" <<CONF
[options]
addons_path = $ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$MESO_ROOT
data_dir = $MESO_STATE/filestore
db_host = $MESO_DB_HOST
db_port = $MESO_DB_PORT
db_user = $MESO_DB_USER
db_password = $MESO_DB_PASSWORD
admin_passwd = admin
http_interface = 127.0.0.1
CONF

export MESO_ROOT MESO_STATE MESO_VENV MESO_CONF ODOO_SRC
