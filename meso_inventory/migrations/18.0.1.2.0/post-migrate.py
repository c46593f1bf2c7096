"""18.0.1.2.0: practitioners no longer are Inventory users, and patients leave stock
documents (consumption pickings lose the partner they were addressed to)."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    practitioner = env.ref("meso_inventory.group_practitioner")
    practitioner.implied_ids -= env.ref("stock.group_stock_user")
    pickings = env["stock.picking"].search(
        [("meso_session_id", "!=", False), ("partner_id", "!=", False)]
    )
    pickings.move_ids.write({"partner_id": False})
    pickings.write({"partner_id": False})
