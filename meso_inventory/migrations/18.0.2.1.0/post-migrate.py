"""18.0.2.1.0: an opened vial belongs to the clinic where it was opened, and each clinic
consumes into its own place under Patient consumption."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """
        UPDATE meso_opened_vial vial
           SET warehouse_id = session.warehouse_id
          FROM meso_treatment_session session
         WHERE vial.session_id = session.id AND vial.warehouse_id IS NULL
        """
    )
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["stock.warehouse"]._meso_setup_clinics()
