.PHONY: run test lint pot bench

# Odoo with meso_inventory and demo data on http://localhost:8069 (admin / admin)
run:
	bash scripts/run.sh

# The whole test suite on a fresh database; ARGS go to pytest (e.g. ARGS="-k fefo")
test:
	bash scripts/test.sh $(ARGS)

# ruff and pylint-odoo over the addon
lint:
	bash scripts/lint.sh

# Refresh meso_inventory/i18n/meso_inventory.pot from the test database (run make test first)
pot:
	bash -c 'source scripts/setup.sh && "$$MESO_VENV/bin/python" "$$ODOO_SRC/odoo-bin" -c "$$MESO_CONF" -d "$${MESO_TEST_DB:-meso_test}" --i18n-export=meso_inventory/i18n/meso_inventory.pot --modules=meso_inventory --stop-after-init --log-level=warn'

# Benchmarks against Odoo's own flows (see bench/README.md); SCALE=small|large
bench:
	bash bench/run.sh $(SCALE)
