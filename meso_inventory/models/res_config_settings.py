from odoo import fields, models


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
