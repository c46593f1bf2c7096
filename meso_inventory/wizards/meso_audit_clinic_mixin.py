from odoo import api, fields, models
from odoo.exceptions import AccessError


class MesoAuditClinicMixin(models.AbstractModel):
    """The clinic a stock audit wizard works on, in a company its user works for: the
    export of the workbook and the import of its counts."""

    _name = "meso.audit.clinic.mixin"
    _description = "Stock audit clinic"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    warehouse_id = fields.Many2one(
        "stock.warehouse",
        "Clinic",
        required=True,
        check_company=True,
        default=lambda self: self.env["stock.warehouse"].search(
            [("company_id", "=", self.env.company.id)], limit=1
        ),
    )

    def _meso_other_company_refusal(self):
        """The refusal when the wizard's company is not one of the user's (override)."""
        return self.env._("You can only work on the stock of a company you work for.")

    @api.constrains("company_id")
    def _check_company_of_user(self):
        for wizard in self:
            if wizard.company_id not in self.env.user.company_ids:
                raise AccessError(wizard._meso_other_company_refusal())
