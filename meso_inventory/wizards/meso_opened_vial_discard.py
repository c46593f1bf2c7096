from odoo import fields, models


class MesoOpenedVialDiscard(models.TransientModel):
    _name = "meso.opened.vial.discard"
    _description = "Discard opened vials"

    vial_ids = fields.Many2many("meso.opened.vial", string="Vials", required=True)
    reason = fields.Char(
        required=True, help="Why what is left is thrown away: contamination, dropped, recall..."
    )

    def action_discard(self):
        self.ensure_one()
        self.vial_ids._meso_check_discardable()
        # checked just above with the manager's rights; the vials are read-only to every
        # group so that only the addon's flows change them
        self.vial_ids.sudo()._meso_discard(self.reason.strip())
        return {"type": "ir.actions.act_window_close"}
