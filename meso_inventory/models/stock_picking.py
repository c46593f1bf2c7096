from datetime import datetime, time

from odoo import Command, api, fields, models
from odoo.exceptions import UserError


class StockPicking(models.Model):
    _inherit = ["stock.picking", "meso.scan.mixin"]
    _name = "stock.picking"

    meso_session_id = fields.Many2one(
        "meso.treatment.session", "Treatment session", index="btree_not_null", copy=False
    )

    def button_validate(self):
        # the vials reserved for a session to come (Prepare) leave when the session is
        # completed, which writes the ledger the recalls read; validated from Inventory
        # they would reach a patient without a trace
        # read as superuser: an Inventory user may not read sessions (medical data); only
        # whether the transfer is a tray, and its session's reference, are used
        reserved = self.filtered(lambda picking: picking.sudo().meso_session_id.state == "planned")
        if reserved:
            raise UserError(
                self.env._(
                    "%(picking)s holds the vials reserved for session %(session)s: they leave "
                    "the stock when the session is completed. Complete the session, or "
                    "cancel this transfer to give them back.",
                    picking=reserved[0].name,
                    session=reserved[0].sudo().meso_session_id.name,
                )
            )
        return super().button_validate()

    def _send_confirmation_email(self):
        # A treatment's consumption is not a delivery: nobody is told it was "shipped"
        # (stock's e-mail, stock_sms's text message), whatever the company's settings.
        return super(
            StockPicking, self.filtered(lambda p: not p.meso_session_id)
        )._send_confirmation_email()

    # ------------------------------------------------------------------
    # Receiving by scanning
    # ------------------------------------------------------------------
    @api.model
    def action_meso_receive_by_scanning(self):
        """A new receipt of the user's clinic, opened to scan the vials that arrived."""
        warehouse = self.env["stock.warehouse"].search(
            [("company_id", "=", self.env.company.id)], limit=1
        )
        if not warehouse:
            raise UserError(
                self.env._(
                    "%(company)s has no clinic to receive into.", company=self.env.company.name
                )
            )
        receipt = self.create(self._meso_prepare_scan_receipt_values(warehouse))
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Receive by scanning"),
            "res_model": "stock.picking",
            "res_id": receipt.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }

    @api.model
    def _meso_prepare_scan_receipt_values(self, warehouse):
        picking_type = warehouse.in_type_id
        return {
            "picking_type_id": picking_type.id,
            "location_id": (
                picking_type.default_location_src_id
                or self.env.ref("stock.stock_location_suppliers")
            ).id,
            "location_dest_id": picking_type.default_location_dest_id.id,
            "company_id": warehouse.company_id.id,
        }

    def scan_vial(self, barcode):
        """One vial of a receipt, scanned (its GS1 DataMatrix): the vial's product found
        by its GTIN, its lot found or created with the scanned expiry, one more vial of
        that lot on the receipt. Refused, with nothing written, when the code cannot be
        read, names no vial of the company, carries no lot or an expiry already past, or
        contradicts the lot's expiry."""
        self.ensure_one()
        self.check_access("write")
        if self.picking_type_code != "incoming" or self.state in ("done", "cancel"):
            raise UserError(
                self.env._(
                    "%(picking)s is not a receipt in progress: vials are scanned into an "
                    "open receipt.",
                    picking=self.display_name,
                )
            )
        udi, product = self._meso_read_udi(barcode)
        lot = self._meso_scan_receipt_lot(udi, product)
        self._meso_add_scanned_vial(product, lot or self._meso_create_scanned_lot(udi, product))
        return True

    def _meso_scan_receipt_lot(self, udi, product):
        """The existing lot of a scanned vial (empty when it is new), checked."""
        code = self.env["barcode.nomenclature"]._meso_printable(udi["code"])
        if not udi["lot"]:
            raise UserError(
                self.env._(
                    "The code %(code)s of %(product)s carries no lot (10): scan the vial's "
                    "DataMatrix, which holds its lot and expiry.",
                    code=code,
                    product=product.display_name,
                )
            )
        lot = self.env["stock.lot"].search(
            [
                ("product_id", "=", product.id),
                ("name", "=", udi["lot"]),
                ("company_id", "in", [self.company_id.id, False]),
            ],
            limit=1,
        )
        # a recalled lot goes back to its vendor: it is not received again
        lot._meso_check_not_recalled()
        expiry = udi["expiry"] or self._meso_udi_expiry_of(lot)
        if not expiry:
            raise UserError(
                self.env._(
                    "The code %(code)s of %(product)s carries no expiry date (17), and lot "
                    "%(lot)s has none: a vial is received with its expiry.",
                    code=code,
                    product=product.display_name,
                    lot=udi["lot"],
                )
            )
        if expiry <= fields.Date.context_today(self):
            raise UserError(
                self.env._(
                    "Lot %(lot)s of %(product)s (scanned: %(code)s) expired on %(date)s: "
                    "an expired vial is not received.",
                    lot=udi["lot"],
                    product=product.display_name,
                    code=code,
                    date=fields.Date.to_string(expiry),
                )
            )
        if lot:
            self._meso_check_udi_expiry(udi, lot)
        return lot

    def _meso_create_scanned_lot(self, udi, product):
        return self.env["stock.lot"].create(self._meso_prepare_scanned_lot_values(udi, product))

    def _meso_prepare_scanned_lot_values(self, udi, product):
        """Values of a lot first met on a scanned vial (extend with super()); it expires
        at the start of its expiry date."""
        return {
            "name": udi["lot"],
            "product_id": product.id,
            "company_id": self.company_id.id,
            "expiration_date": datetime.combine(udi["expiry"], time.min),
        }

    def _meso_add_scanned_vial(self, product, lot):
        """One vial of `lot` on this receipt: on the move of its product (created for one
        vial if the receipt has none), on the line of that lot (created if needed). The
        vials scanned replace what Odoo had reserved without a lot; the demand stays what
        was ordered, the quantity is what was scanned (Odoo receives it, with a backorder
        for what is missing)."""
        self.ensure_one()
        if self.state == "draft":
            # Ready: the receipt shows what was scanned (its Quantity column)
            self.action_confirm()
        move = self.move_ids.filtered(
            lambda m: m.product_id == product and m.state not in ("done", "cancel")
        )[:1]
        if not move:
            move = self.env["stock.move"].create(self._meso_prepare_scan_move_values(product))
            move._action_confirm()
        move.move_line_ids.filtered(lambda ml: not ml.lot_id and not ml.picked).unlink()
        move_line = move.move_line_ids.filtered(lambda ml: ml.lot_id == lot)[:1]
        if move_line:
            move_line.quantity += 1
        else:
            move.move_line_ids = [
                Command.create(self._meso_prepare_scan_move_line_values(move, lot))
            ]
        move.picked = True

    def _meso_prepare_scan_move_values(self, product):
        return {
            "name": product.display_name,
            "product_id": product.id,
            "product_uom": product.uom_id.id,
            "product_uom_qty": 1,
            "picking_id": self.id,
            "location_id": self.location_id.id,
            "location_dest_id": self.location_dest_id.id,
            "company_id": self.company_id.id,
        }

    def _meso_prepare_scan_move_line_values(self, move, lot):
        return {
            "product_id": move.product_id.id,
            "product_uom_id": move.product_uom.id,
            "lot_id": lot.id,
            "quantity": 1,
            "picked": True,
            "location_id": move.location_id.id,
            "location_dest_id": move.location_dest_id.id,
            "picking_id": self.id,
        }
