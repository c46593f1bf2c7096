#!/usr/bin/env bash
# ruff (format and lint) and pylint-odoo over the addon.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$MESO_ROOT"
"$MESO_VENV/bin/python" -c "import ruff, pylint_odoo" 2>/dev/null \
  || "$MESO_VENV/bin/pip" install -q ruff pylint-odoo 2> >(grep -v "is ignored" >&2)
"$MESO_VENV/bin/ruff" format --check meso_inventory
"$MESO_VENV/bin/ruff" check meso_inventory
"$MESO_VENV/bin/pylint" --rcfile=.pylintrc --disable=missing-readme meso_inventory
