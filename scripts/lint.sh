#!/usr/bin/env bash
# ruff (format and lint) and pylint-odoo over the addon.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$MESO_ROOT"
"$MESO_VENV/bin/ruff" format --check meso_inventory
"$MESO_VENV/bin/ruff" check meso_inventory
"$MESO_VENV/bin/pylint" --rcfile=.pylintrc --disable=missing-readme meso_inventory
# the addon's README.md (the wheel's description) is generated from readme/*.md
"$MESO_VENV/bin/python" "$MESO_ROOT/scripts/addon_readme.py" --check
