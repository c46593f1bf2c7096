import math

from odoo import api, fields, models


class MesoTreatmentSessionLine(models.Model):
    _name = "meso.treatment.session.line"
    _inherit = ["meso.vial.line"]
    _description = "Vial injected in a session"
    _order = "session_id, sequence, id"

    session_id = fields.Many2one(
        "meso.treatment.session", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="session_id.company_id", store=True)
    lot_id = fields.Many2one(
        "stock.lot",
        check_company=True,
        # usable in the session's clinic at its date when the view gives them in the
        # context (meso_warehouse_id, meso_at_date): not expired, not in quarantine
        domain="[('product_id', '=', product_id), ('meso_usable_qty', '>', 0)]",
        help="Leave empty to take vials first-expired, first-out; once done, the lot used. "
        "Offered: the lots of the vial not expired at the session's date, with vials in the "
        "clinic's stock.",
    )
    consumption_ids = fields.One2many("meso.treatment.consumption", "session_line_id")
    lot_ids = fields.Many2many("stock.lot", compute="_compute_consumed", string="Lots used")
    vial_qty = fields.Float("Vials from stock", compute="_compute_consumed")
    waste_ml = fields.Float("Waste (ml)", compute="_compute_consumed")
    # the UDI of the vial scanned for this line (scan_vial); the ledger keeps it
    udi_gtin = fields.Char("Scanned GTIN", readonly=True, copy=False)
    udi_lot = fields.Char("Scanned lot", readonly=True, copy=False)
    udi_serial = fields.Char("Scanned serial", readonly=True, copy=False)
    udi_expiry = fields.Date("Scanned expiry", readonly=True, copy=False)

    @api.model_create_multi
    def create(self, vals_list):
        self.env["meso.treatment.session"].browse(
            {vals["session_id"] for vals in vals_list if vals.get("session_id")}
        )._meso_check_open_record()
        return super().create(vals_list)

    def write(self, vals):
        sessions = self.session_id
        if vals.get("session_id"):
            sessions |= sessions.browse(vals["session_id"])
        sessions._meso_check_open_record()
        stale = self._meso_stale_udi(vals)
        result = super().write(vals)
        if stale:
            stale.write(
                {"udi_gtin": False, "udi_lot": False, "udi_serial": False, "udi_expiry": False}
            )
        return result

    def _meso_stale_udi(self, vals):
        """The lines whose scanned UDI no longer applies once `vals` are written:
        another vial, or another lot than the one scanned."""
        if "udi_gtin" in vals or not {"product_id", "lot_id"}.intersection(vals):
            return self.browse()
        lot = self.env["stock.lot"].browse(vals.get("lot_id"))
        return self.filtered(
            lambda line: (
                line.udi_gtin
                and (
                    ("product_id" in vals and vals["product_id"] != line.product_id.id)
                    or ("lot_id" in vals and line.udi_lot and lot.name != line.udi_lot)
                )
            )
        )

    @api.constrains("lot_id")
    def _check_lot_not_recalled(self):
        """A recalled lot is never chosen (picked or scanned) for a session to come."""
        self.filtered(
            lambda line: line.session_id.state == "planned"
        ).lot_id._meso_check_not_recalled()

    @api.ondelete(at_uninstall=False)
    def _unlink_except_closed(self):
        self.session_id._meso_check_open_record()

    def _meso_sealed_vials(self):
        """Sealed vials the line's volume takes when nothing is drawn from an open vial."""
        self.ensure_one()
        volume = self.product_id.meso_volume_ml or 1.0
        return math.ceil(round(self.volume_ml / volume, 6))

    @api.depends("consumption_ids")
    def _compute_consumed(self):
        for line in self:
            consumptions = line.consumption_ids
            line.lot_ids = consumptions.lot_id
            line.vial_qty = sum(consumptions.mapped("vial_qty"))
            line.waste_ml = sum(consumptions.mapped("waste_ml"))
