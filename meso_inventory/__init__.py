from . import models
from . import report
from . import wizards


def post_init_hook(env):
    """The warehouses that exist when the addon is installed become clinics; those
    created later are set up by stock.warehouse.create."""
    env["stock.warehouse"]._meso_setup_clinics()
