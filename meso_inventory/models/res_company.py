from odoo import api, fields, models
from odoo.exceptions import ValidationError


class ResCompany(models.Model):
    _inherit = "res.company"

    meso_usage_window_days = fields.Integer(
        "Usage look-back (days)",
        default=90,
        help="Average daily consumption is measured over this many past days.",
    )
    meso_safety_days = fields.Integer(
        "Safety stock (days)", default=7, help="Days of usage kept on top of the vendor lead time."
    )
    meso_review_days = fields.Integer(
        "Review period (days)",
        default=14,
        help="Days of usage a reorder brings on top of the minimum.",
    )
    meso_purchase_responsible_id = fields.Many2one(
        "res.users",
        "Reorder alerts to",
        help="Who receives reorder alerts and the daily digest; empty: every purchase user.",
    )
    meso_stock_manager_id = fields.Many2one(
        "res.users",
        "Expiry alerts to",
        help="Who receives lot expiry alerts; empty: every clinic manager.",
    )

    meso_late_entry_hours = fields.Integer(
        "Late entry after (hours)",
        default=24,
        help="A session completed more than this many hours after its date is a late entry: "
        "only a clinic manager completes it, and its chatter says so.",
    )

    @api.constrains("meso_late_entry_hours")
    def _check_meso_late_entry_hours(self):
        for company in self:
            if not 1 <= company.meso_late_entry_hours <= 24 * 31:
                raise ValidationError(
                    self.env._(
                        "Late entry after (hours) must be between 1 and %(max)s hours (a month).",
                        max=24 * 31,
                    )
                )

    def _meso_purchasing_users(self):
        self.ensure_one()
        if self.meso_purchase_responsible_id:
            return self.meso_purchase_responsible_id
        return self._meso_group_users("purchase.group_purchase_user")

    def _meso_expiry_users(self):
        self.ensure_one()
        if self.meso_stock_manager_id:
            return self.meso_stock_manager_id
        return self._meso_group_users("meso_inventory.group_manager")

    def _meso_group_users(self, group_xmlid):
        return (
            self.env.ref(group_xmlid)
            .users.filtered(lambda u: not u.share and u.active and self in u.company_ids)
            .sorted("id")
        )
