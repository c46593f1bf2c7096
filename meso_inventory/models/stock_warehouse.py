from odoo import api, models


class StockWarehouse(models.Model):
    _inherit = "stock.warehouse"

    @api.model_create_multi
    def create(self, vals_list):
        warehouses = super().create(vals_list)
        warehouses._meso_set_fefo()
        return warehouses

    def _meso_set_fefo(self):
        """Vials leave the clinic's stock first-expired, first-out."""
        fefo = self.env.ref("product_expiry.removal_fefo")
        self.lot_stock_id.filtered(lambda loc: not loc.removal_strategy_id).write(
            {"removal_strategy_id": fefo.id}
        )
