from odoo import fields, models
from odoo.exceptions import UserError

CONSUMING_USAGES = ("customer", "production")


class StockMoveLine(models.Model):
    _inherit = "stock.move.line"

    def _action_done(self):
        self._meso_check_no_expired_lot()
        self._meso_check_received_expiry()
        return super()._action_done()

    def _meso_check_received_expiry(self):
        """A vial is received with the expiry printed on it: a lot without one, or one
        already past (the receipt's default is today), is a typing omission."""
        now = fields.Datetime.now()

        def is_undated(ml):
            # a lot typed on the receipt is created later in _action_done, with the
            # line's expiration date
            expiry = ml.lot_id.expiration_date if ml.lot_id else ml.expiration_date
            return (
                ml.product_id.meso_is_vial
                and ml.location_id.usage == "supplier"
                and ml.location_dest_id.usage == "internal"
                and not (expiry and expiry > now)
            )

        undated = self.filtered(is_undated)
        if undated:
            ml = undated[0]
            raise UserError(
                self.env._(
                    "Lot %(lot)s of %(product)s has no expiration date in the future: type the "
                    "expiry printed on the vials before validating the receipt.",
                    lot=ml.lot_id.name or ml.lot_name or "-",
                    product=ml.product_id.display_name,
                )
            )

    def _meso_check_no_expired_lot(self):
        """An expired or recalled vial may be quarantined, scrapped or returned, never
        consumed."""
        self.filtered(
            lambda ml: (
                ml.location_dest_id.usage in CONSUMING_USAGES and ml.location_id.usage == "internal"
            )
        ).lot_id._meso_check_not_recalled()
        now = fields.Datetime.now()
        expired = self.filtered(
            lambda ml: (
                ml.product_id.meso_is_vial
                and ml.lot_id.expiration_date
                # a session recorded after the fact is judged at the date it was given
                and ml.lot_id.expiration_date <= (ml.move_id.meso_session_id.date or now)
                and ml.location_dest_id.usage in CONSUMING_USAGES
                and ml.location_id.usage == "internal"
            )
        )
        if expired:
            ml = expired[0]
            raise UserError(
                self.env._(
                    "Lot %(lot)s of %(product)s expired on %(date)s and cannot be used. "
                    "Pick another lot, and quarantine or scrap the expired one.",
                    lot=ml.lot_id.name,
                    product=ml.product_id.display_name,
                    date=fields.Date.to_string(ml.lot_id.expiration_date),
                )
            )
