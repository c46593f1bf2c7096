"""18.0.2.1.0: the daily reorder digest writes quantities in the vial's unit ("4 Vials"):
its template, loaded once (noupdate), is read again from the module."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    template = env.ref("meso_inventory.mail_template_reorder_digest", raise_if_not_found=False)
    if template:
        template.reset_template()
