from odoo import models
from odoo.exceptions import UserError


class MesoCompanyCheckMixin(models.AbstractModel):
    """Odoo's company check names the records it compares: on medical records that
    would tell a user of one company the name of another company's patient."""

    _name = "meso.company.check.mixin"
    _description = "Company check that names no medical record"

    def _check_company(self, fnames=None):
        try:
            return super()._check_company(fnames=fnames)
        except UserError:
            raise UserError(
                self.env._(
                    "A patient, formulation, contact, lot or clinic chosen on this %(model)s "
                    "belongs to another company. Choose records of %(company)s.",
                    model=self._description.lower(),
                    company=(self[:1].company_id or self.env.company).name,
                )
            ) from None
