from odoo import Command, api, fields, models


class StockWarehouse(models.Model):
    _inherit = "stock.warehouse"

    meso_consumption_type_id = fields.Many2one(
        "stock.picking.type", "Treatment consumption type", check_company=True
    )
    meso_quarantine_location_id = fields.Many2one(
        "stock.location",
        "Quarantine",
        check_company=True,
        help="Where expired vials wait to be scrapped: outside the stock, so never picked.",
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

    def _get_locations_values(self, vals, code=False):
        values = super()._get_locations_values(vals, code=code)
        code = (vals.get("code") or code or "").replace(" ", "").upper()
        company_id = vals.get("company_id", self.default_get(["company_id"])["company_id"])
        values["meso_quarantine_location_id"] = {
            "name": self.env._("Quarantine"),
            "active": True,
            "usage": "internal",
            "replenish_location": False,
            "barcode": self._valid_barcode(code + "QUARANTINE", company_id),
        }
        return values

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
        # Created on first use (or when the module is installed or updated), not with
        # every warehouse: code that looks up "the" outgoing type of a new warehouse by
        # its code keeps finding the delivery type alone.
        if self.meso_consumption_type_id or self.env.context.get("meso_create_consumption_type"):
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
            warehouse = self.sudo().with_context(meso_create_consumption_type=True)
            warehouse.write(warehouse._create_or_update_sequences_and_picking_types())
        return self.meso_consumption_type_id

    def _meso_quarantine_expired(self):
        """Move every expired vial out of the clinic's stock into its quarantine, one
        validated internal transfer per clinic, so that nothing can pick them."""
        now = fields.Datetime.now()
        pickings = self.env["stock.picking"]
        for warehouse in self:
            quants = self.env["stock.quant"].search(
                [
                    ("location_id", "child_of", warehouse.lot_stock_id.id),
                    ("product_id.meso_is_vial", "=", True),
                    ("lot_id.expiration_date", "<=", now),
                    ("quantity", ">", 0),
                ]
            )
            if not quants:
                continue
            quarantine = warehouse.meso_quarantine_location_id
            picking_type = warehouse.int_type_id
            picking = self.env["stock.picking"].create(
                {
                    "picking_type_id": picking_type.id,
                    "location_id": warehouse.lot_stock_id.id,
                    "location_dest_id": quarantine.id,
                    "origin": self.env._("Expired vials"),
                    "company_id": warehouse.company_id.id,
                    "move_ids": [
                        Command.create(
                            {
                                "name": product.display_name,
                                "product_id": product.id,
                                "product_uom": product.uom_id.id,
                                "product_uom_qty": sum(
                                    quants.filtered(lambda q, p=product: q.product_id == p).mapped(
                                        "quantity"
                                    )
                                ),
                                "location_id": warehouse.lot_stock_id.id,
                                "location_dest_id": quarantine.id,
                                "company_id": warehouse.company_id.id,
                            }
                        )
                        for product in quants.product_id
                    ],
                }
            )
            picking.action_confirm()
            for move in picking.move_ids:
                move._do_unreserve()
                move.move_line_ids = [
                    Command.create(
                        {
                            "product_id": quant.product_id.id,
                            "product_uom_id": quant.product_id.uom_id.id,
                            "lot_id": quant.lot_id.id,
                            "quantity": quant.quantity,
                            "location_id": quant.location_id.id,
                            "location_dest_id": quarantine.id,
                            "picking_id": picking.id,
                        }
                    )
                    for quant in quants.filtered(lambda q, m=move: q.product_id == m.product_id)
                ]
            picking.move_ids.picked = True
            picking.with_context(skip_expired=True, skip_backorder=True).button_validate()
            pickings |= picking
        return pickings

    @api.model
    def _meso_setup_clinics(self):
        """Existing warehouses get what new ones get: FEFO and a consumption type."""
        # a handful of warehouses, once per install or update
        warehouses = self.with_context(active_test=False).search([])  # pylint: disable=no-search-all
        warehouses._meso_set_fefo()
        warehouses._create_missing_locations({})
        for warehouse in warehouses.filtered(lambda wh: not wh.meso_consumption_type_id):
            warehouse._meso_consumption_type()
