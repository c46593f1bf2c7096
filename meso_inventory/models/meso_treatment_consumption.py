from odoo import api, fields, models


class MesoTreatmentConsumption(models.Model):
    """What one session line took from one lot: the unit of traceability.

    Written by the sessions' flows alone: every group has read access only, and the
    flows write behind sudo(). A cancellation marks the rows returned, never removes them."""

    _name = "meso.treatment.consumption"
    _description = "Vial consumption per lot"
    _order = "date desc, id"
    _check_company_auto = True

    session_line_id = fields.Many2one(
        "meso.treatment.session.line", required=True, index=True, ondelete="restrict"
    )
    session_id = fields.Many2one(
        related="session_line_id.session_id", store=True, index=True, ondelete="restrict"
    )
    patient_id = fields.Many2one(related="session_id.patient_id", store=True, index=True)
    practitioner_id = fields.Many2one(related="session_id.practitioner_id", store=True)
    date = fields.Datetime(related="session_id.date", store=True)
    session_state = fields.Selection(
        related="session_id.state", store=True, string="Session status"
    )
    company_id = fields.Many2one(related="session_id.company_id", store=True)
    product_id = fields.Many2one("product.product", required=True, index=True)
    lot_id = fields.Many2one("stock.lot", required=True, index=True, ondelete="restrict")
    opened_vial_id = fields.Many2one("meso.opened.vial", index=True, ondelete="restrict")
    volume_ml = fields.Float("Injected (ml)", digits=(16, 2))
    vial_qty = fields.Float(
        "Vials from stock", digits="Product Unit of Measure", help="Sealed vials taken from stock."
    )
    waste_ml = fields.Float(
        "Waste (ml)", digits=(16, 2), help="Left in a single-use vial and thrown away."
    )
    cost = fields.Float(
        digits="Product Price",
        groups="meso_inventory.group_manager",
        help="Value of the vials taken from stock, as Odoo valued the consumption.",
    )
    treatment_area = fields.Selection(related="session_id.treatment_area", store=True)
    returned = fields.Boolean(
        readonly=True, help="The session was cancelled and these vials went back to the lot."
    )
    returned_at = fields.Datetime("Returned on", readonly=True)
    return_picking_id = fields.Many2one(
        "stock.picking", "Return", readonly=True, groups="stock.group_stock_user"
    )

    @api.model
    def _meso_session_cost_action(self):
        """Consumption cost per session, for clinic managers (the server action's group)."""
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Cost per session"),
            "res_model": self._name,
            "view_mode": "pivot,list",
            "views": [
                (self.env.ref("meso_inventory.meso_treatment_consumption_view_pivot").id, "pivot"),
                (self.env.ref("meso_inventory.meso_treatment_consumption_view_list").id, "list"),
            ],
            "context": {
                "search_default_done": 1,
                "pivot_row_groupby": ["session_id"],
                "pivot_column_groupby": [],
                "pivot_measures": ["cost", "vial_qty", "volume_ml"],
            },
        }
