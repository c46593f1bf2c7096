from odoo import api, fields, models
from odoo.exceptions import UserError


class MesoOpenedVial(models.Model):
    _name = "meso.opened.vial"
    _description = "Opened multi-dose vial"
    _inherit = ["mail.thread"]
    _order = "beyond_use_at, id"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    lot_id = fields.Many2one(
        "stock.lot", required=True, index=True, ondelete="restrict", check_company=True
    )
    product_id = fields.Many2one(related="lot_id.product_id", store=True, index=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    session_id = fields.Many2one(
        "meso.treatment.session", "Opened in", index=True, ondelete="set null", readonly=True
    )
    opened_at = fields.Datetime(required=True, default=fields.Datetime.now)
    beyond_use_at = fields.Datetime(
        "Use before", required=True, help="Opened + stability hours, never after the lot's expiry."
    )
    remaining_ml = fields.Float("Remaining (ml)", digits=(16, 2))
    waste_ml = fields.Float("Discarded (ml)", digits=(16, 2), readonly=True)
    state = fields.Selection(
        [
            ("open", "Open"),
            ("used_up", "Used up"),
            ("discarded", "Discarded"),
            ("cancelled", "Cancelled"),
        ],
        default="open",
        required=True,
        tracking=True,
        index=True,
    )
    consumption_ids = fields.One2many("meso.treatment.consumption", "opened_vial_id", "Draws")

    @api.depends("lot_id", "opened_at")
    def _compute_name(self):
        for vial in self:
            vial.name = f"{vial.lot_id.name} · {fields.Datetime.to_string(vial.opened_at)[:16]}"

    def action_discard(self):
        """Throw away what is left: it is recorded as waste."""
        for vial in self:
            if vial.state != "open":
                raise UserError(
                    self.env._(
                        "Only an open vial can be discarded (%(vial)s is not).", vial=vial.name
                    )
                )
            vial.write({"state": "discarded", "waste_ml": vial.remaining_ml, "remaining_ml": 0.0})
        return True

    @api.model
    def _cron_discard_beyond_use(self):
        """Vials past their beyond-use time are discarded, what is left is waste."""
        self.search(
            [("state", "=", "open"), ("beyond_use_at", "<=", fields.Datetime.now())]
        ).action_discard()
        return True
