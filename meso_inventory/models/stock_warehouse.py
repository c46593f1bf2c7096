from odoo import api, fields, models


class StockWarehouse(models.Model):
    _inherit = "stock.warehouse"

    meso_consumption_type_id = fields.Many2one(
        "stock.picking.type", "Treatment consumption type", check_company=True
    )

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

    def _get_sequence_values(self, name=False, code=False):
        values = super()._get_sequence_values(name=name, code=code)
        values["meso_consumption_type_id"] = {
            "name": self.env._("%(name)s Treatment consumption", name=self.name),
            "prefix": f"{self.code}/{self.meso_consumption_type_id.sequence_code or 'TRT'}/",
            "padding": 5,
            "company_id": self.company_id.id,
        }
        return values

    def _get_picking_type_update_values(self):
        values = super()._get_picking_type_update_values()
        values["meso_consumption_type_id"] = {"default_location_src_id": self.lot_stock_id.id}
        return values

    def _get_picking_type_create_values(self, max_sequence):
        values, max_sequence = super()._get_picking_type_create_values(max_sequence)
        values["meso_consumption_type_id"] = {
            "name": self.env._("Treatment consumption"),
            "code": "outgoing",
            "default_location_src_id": self.lot_stock_id.id,
            "default_location_dest_id": self.env.ref(
                "meso_inventory.stock_location_patient_consumption"
            ).id,
            "sequence": max_sequence + 1,
            "sequence_code": "TRT",
            "use_create_lots": False,
            "use_existing_lots": True,
            "company_id": self.company_id.id,
        }
        return values, max_sequence + 2

    def _meso_consumption_type(self):
        """The clinic's "Treatment consumption" operation type, created when missing."""
        self.ensure_one()
        if not self.meso_consumption_type_id:
            self.sudo().write(self._create_or_update_sequences_and_picking_types())
        return self.meso_consumption_type_id

    @api.model
    def _meso_setup_clinics(self):
        """Existing warehouses get what new ones get: FEFO and a consumption type."""
        # a handful of warehouses, once per install or update
        warehouses = self.with_context(active_test=False).search([])  # pylint: disable=no-search-all
        warehouses._meso_set_fefo()
        for warehouse in warehouses.filtered(lambda wh: not wh.meso_consumption_type_id):
            warehouse._meso_consumption_type()
