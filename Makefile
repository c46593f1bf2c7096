.PHONY: run test lint

# Odoo with meso_inventory and demo data on http://localhost:8069 (admin / admin)
run:
	bash scripts/run.sh

# The whole test suite on a fresh database; ARGS go to pytest (e.g. ARGS="-k fefo")
test:
	bash scripts/test.sh $(ARGS)

# ruff and pylint-odoo over the addon
lint:
	bash scripts/lint.sh
