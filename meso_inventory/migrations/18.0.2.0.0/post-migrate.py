"""18.0.2.0.0: practitioners no longer are Inventory users, patients leave stock
documents (consumption pickings lose the partner they were addressed to), and the expiry
alert is product_expiry's (a lot alerted by the addon is marked reminded)."""

from odoo import SUPERUSER_ID, api
from odoo.tools.sql import column_exists


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
    if column_exists(cr, "stock_lot", "meso_expiry_alerted"):
        cr.execute("UPDATE stock_lot SET product_expiry_reminded = TRUE WHERE meso_expiry_alerted")
        cr.execute("ALTER TABLE stock_lot DROP COLUMN meso_expiry_alerted")
