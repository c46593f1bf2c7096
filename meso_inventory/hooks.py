def post_init_hook(env):
    """Existing clinics get what new ones get: FEFO and a treatment consumption type."""
    warehouses = env["stock.warehouse"].with_context(active_test=False).search([])
    warehouses._meso_set_fefo()
    warehouses._meso_create_missing_consumption_types()
