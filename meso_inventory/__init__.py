from . import models
from . import report
from . import wizards


def post_init_hook(env):
    """The warehouses that exist when the addon is installed become clinics; those
    created later are set up by stock.warehouse.create. The companies read the vials'
    GS1 DataMatrix with the GS1 nomenclature."""
    env["stock.warehouse"]._meso_setup_clinics()
    env["res.company"]._meso_setup_gs1_nomenclature()
