from odoo import api, fields, models

from .meso_number_check_mixin import check_numbers

COMPANY_NUMBER_BOUNDS = {
    "meso_usage_window_days": (1, 3650),
    "meso_safety_days": (0, 365),
    "meso_review_days": (0, 365),
    "meso_late_entry_hours": (1, 24 * 31),
}


class ResCompany(models.Model):
    _inherit = "res.company"

    meso_usage_window_days = fields.Integer(
        "Usage look-back (days)",
        default=90,
        help="Average daily consumption is measured over this many past days.",
    )
    meso_safety_days = fields.Integer(
        "Safety stock (days)", default=7, help="Days of usage kept on top of the rule's lead time."
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

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            check_numbers(self, vals, COMPANY_NUMBER_BOUNDS)
        return super().create(vals_list)

    def write(self, vals):
        check_numbers(self, vals, COMPANY_NUMBER_BOUNDS)
        return super().write(vals)

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

    # ------------------------------------------------------------------
    # Scanning
    # ------------------------------------------------------------------
    def _meso_gs1_nomenclature(self):
        """The GS1 nomenclature a vial's code is read with: the company's own when it
        is a GS1 one, else Odoo's default GS1 nomenclature."""
        self.ensure_one()
        nomenclature = self.sudo().nomenclature_id
        if nomenclature.is_gs1_nomenclature:
            return nomenclature
        return self.env.ref("barcodes_gs1_nomenclature.default_gs1_nomenclature").sudo()

    @api.model
    def _meso_setup_gs1_nomenclature(self):
        """Companies on Odoo's default (non-GS1) nomenclature read barcodes with the
        default GS1 one: the web client's barcode service then turns a scanner's
        `Alt029` into the FNC1 separator, and a product search by a scanned DataMatrix
        finds the product by its GTIN. A company with a nomenclature of its own keeps it."""
        default = self.env.ref("barcodes.default_barcode_nomenclature", raise_if_not_found=False)
        gs1 = self.env.ref(
            "barcodes_gs1_nomenclature.default_gs1_nomenclature", raise_if_not_found=False
        )
        if not (default and gs1):
            return
        self.sudo().search([("nomenclature_id", "in", [default.id, False])]).nomenclature_id = gs1
