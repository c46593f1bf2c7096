"""18.0.3.0.0: an opened vial belongs to the clinic where it was opened, each clinic
consumes into its own place under Patient consumption, and the daily reorder digest
writes quantities in the vial's unit ("4 Vials"): its template, loaded once (noupdate),
is read again from the module. Companies on Odoo's default nomenclature read the
vials' GS1 DataMatrix with the GS1 one."""

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
    env["res.company"]._meso_setup_gs1_nomenclature()
    template = env.ref("meso_inventory.mail_template_reorder_digest", raise_if_not_found=False)
    if template:
        template.reset_template()
