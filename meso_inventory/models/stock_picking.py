from odoo import fields, models


class StockPicking(models.Model):
    _inherit = "stock.picking"

    meso_session_id = fields.Many2one(
        "meso.treatment.session", "Treatment session", index="btree_not_null", copy=False
    )

    def _send_confirmation_email(self):
        # A treatment's consumption is not a delivery: nobody is told it was "shipped"
        # (stock's e-mail, stock_sms's text message), whatever the company's settings.
        return super(
            StockPicking, self.filtered(lambda p: not p.meso_session_id)
        )._send_confirmation_email()
