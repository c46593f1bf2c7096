from odoo import api, fields, models

from .meso_number_check_mixin import check_numbers
from .res_company import COMPANY_NUMBER_BOUNDS


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    meso_usage_window_days = fields.Integer(
        related="company_id.meso_usage_window_days", readonly=False
    )
    meso_safety_days = fields.Integer(related="company_id.meso_safety_days", readonly=False)
    meso_review_days = fields.Integer(related="company_id.meso_review_days", readonly=False)
    meso_late_entry_hours = fields.Integer(
        related="company_id.meso_late_entry_hours", readonly=False
    )
    meso_purchase_responsible_id = fields.Many2one(
        related="company_id.meso_purchase_responsible_id", readonly=False
    )
    meso_stock_manager_id = fields.Many2one(
        related="company_id.meso_stock_manager_id", readonly=False
    )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            check_numbers(self, vals, COMPANY_NUMBER_BOUNDS)
        return super().create(vals_list)
