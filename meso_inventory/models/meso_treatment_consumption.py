from odoo import api, fields, models

from .barcode_nomenclature import gtin14

# ml below which a vial counts as empty (a hundredth of a ml)
ML_PRECISION = 2


class MesoTreatmentConsumption(models.Model):
    """What one session line took from one lot: the unit of traceability.

    Written by the sessions' flows alone: every group has read access only, and the
    flows write behind sudo(). A cancellation marks the rows returned, never removes them."""

    _name = "meso.treatment.consumption"
    _description = "Vial consumption per lot"
    _order = "date desc, id"
    _check_company_auto = True

    session_line_id = fields.Many2one(
        "meso.treatment.session.line", required=True, index=True, ondelete="restrict"
    )
    session_id = fields.Many2one(
        related="session_line_id.session_id",
        store=True,
        index=True,
        ondelete="restrict",
        precompute=True,
    )
    patient_id = fields.Many2one(
        related="session_id.patient_id", store=True, index=True, precompute=True
    )
    practitioner_id = fields.Many2one(
        related="session_id.practitioner_id", store=True, precompute=True
    )
    date = fields.Datetime(related="session_id.date", store=True, precompute=True)
    session_state = fields.Selection(
        related="session_id.state", store=True, string="Session status", precompute=True
    )
    company_id = fields.Many2one(related="session_id.company_id", store=True, precompute=True)
    product_id = fields.Many2one("product.product", required=True, index=True)
    lot_id = fields.Many2one("stock.lot", required=True, index=True, ondelete="restrict")
    opened_vial_id = fields.Many2one("meso.opened.vial", index=True, ondelete="restrict")
    volume_ml = fields.Float("Injected (ml)", digits=(16, 2))
    vial_qty = fields.Float(
        "Vials from stock", digits="Product Unit of Measure", help="Sealed vials taken from stock."
    )
    waste_ml = fields.Float(
        "Waste (ml)", digits=(16, 2), help="Left in a single-use vial and thrown away."
    )
    cost = fields.Float(
        digits="Product Price",
        groups="meso_inventory.group_manager",
        help="Value of the vials taken from stock, as Odoo valued the consumption.",
    )
    treatment_area = fields.Selection(
        related="session_id.treatment_area", store=True, precompute=True
    )
    returned = fields.Boolean(
        readonly=True, help="The session was cancelled and these vials went back to the lot."
    )
    returned_at = fields.Datetime("Returned on", readonly=True)
    return_picking_id = fields.Many2one(
        "stock.picking", "Return", readonly=True, groups="stock.group_stock_user"
    )
    # the device's UDI as given: scanned at the session, or read from the product and lot
    udi_gtin = fields.Char("GTIN", readonly=True)
    udi_serial = fields.Char("Serial number", readonly=True)
    udi_expiry = fields.Date("Expiry", readonly=True)
    udi_scanned = fields.Boolean(
        "Scanned", readonly=True, help="The vial's DataMatrix was scanned at the session."
    )
    udi_register = fields.Boolean(
        "UDI register",
        related="product_id.meso_udi_register",
        store=True,
        precompute=True,
        index=True,
        help="A device whose UDI the clinic must keep (class III implantable).",
    )

    @api.model
    def _meso_record(self, draws, moves):
        """Write a completion's ledger: the draws from vials already open
        [(session line, opened vial, ml)], then what each done consumption move took, lot
        by lot. A multi-dose vial taken from stock is opened: what its line does not draw
        stays in it for the next sessions. What a single-use vial leaves is waste."""
        values = [
            self._meso_prepare_values(
                line, vial.lot_id, take, opened_vial_id=vial.id, cost=vial._meso_draw_cost(take)
            )
            for line, vial, take in draws
        ]
        drawn = {}
        for line, _vial, take in draws:
            drawn[line] = drawn.get(line, 0.0) + take
        unit_costs = self._meso_unit_costs(moves)
        # (line, lot, ml, values of the vial it opens or None, row values)
        pending = []
        for move in moves:
            line = move.meso_session_line_id
            template = line.product_id.product_tmpl_id
            volume = template.meso_volume_ml
            need = line.volume_ml - drawn.get(line, 0.0)
            for move_line in move.move_line_ids.sorted(self._meso_fefo_key):
                count = int(round(move_line.quantity))
                if template.meso_multi_dose:
                    for _index in range(count):
                        take = min(need, volume)
                        need -= take
                        vial = self.env["meso.opened.vial"]._meso_prepare_opened_values(
                            line.session_id, move_line.lot_id, volume - take, unit_costs[move]
                        )
                        pending.append((line, move_line.lot_id, take, vial, {"vial_qty": 1}))
                else:
                    take = min(need, count * volume)
                    need -= take
                    pending.append(
                        (
                            line,
                            move_line.lot_id,
                            take,
                            None,
                            {
                                "vial_qty": move_line.quantity,
                                "waste_ml": count * volume - take,
                                "cost": move_line.quantity * unit_costs[move],
                            },
                        )
                    )
        opened = iter(
            self.env["meso.opened.vial"].create([vial for *_rest, vial, _row in pending if vial])
        )
        for line, lot, take, vial_values, row in pending:
            if vial_values:
                vial = next(opened)
                row.update(opened_vial_id=vial.id, cost=vial._meso_draw_cost(take))
            values.append(self._meso_prepare_values(line, lot, take, **row))
        # Odoo precomputes the stored related fields (one INSERT, no UPDATE after it) on
        # draft records, and setting a draft record's session lists it in that session's
        # rows when those are in cache: the sessions' rows are read afresh once written
        lines = self.env["meso.treatment.session.line"].browse(
            {row["session_line_id"] for row in values}
        )
        lines.session_id.invalidate_recordset(["consumption_ids"])
        return self.create(values)

    @api.model
    def _meso_prepare_values(self, line, lot, volume_ml, **values):
        """Values of one ledger row: what a session line took from a lot (extend with
        super()). `values` adds the vial drawn from, the vials and waste, the cost."""
        return dict(
            {
                "session_line_id": line.id,
                "product_id": line.product_id.id,
                "lot_id": lot.id,
                "volume_ml": volume_ml,
            },
            **self._meso_prepare_udi_values(line, lot),
            **values,
        )

    @api.model
    def _meso_prepare_udi_values(self, line, lot):
        """The UDI of the vials a line took from a lot: the one scanned for the line when
        it is of this lot, else the product's GTIN and the lot's expiry."""
        scanned = bool(line.udi_gtin) and (not line.udi_lot or line.udi_lot == lot.name)
        expiry = fields.Date.to_date(lot.expiration_date) if lot.expiration_date else False
        if not scanned:
            return {
                "udi_gtin": gtin14(line.product_id.barcode) or False,
                "udi_expiry": expiry,
            }
        return {
            "udi_gtin": line.udi_gtin,
            "udi_serial": line.udi_serial if line.udi_lot else False,
            "udi_expiry": line.udi_expiry or expiry,
            "udi_scanned": True,
        }

    @api.model
    def _meso_unit_costs(self, moves):
        """Cost of one vial per move, as Odoo valued the consumption move (the vial's
        cost when Odoo made no valuation layer)."""
        layers = (
            self.env["stock.valuation.layer"]
            .sudo()
            ._read_group(
                [("stock_move_id", "in", moves.ids)],
                ["stock_move_id"],
                ["quantity:sum", "value:sum"],
            )
        )
        costs = {move: abs(value / quantity) for move, quantity, value in layers if quantity}
        return {move: costs.get(move, move.product_id.sudo().standard_price) for move in moves}

    @staticmethod
    def _meso_fefo_key(move_line):
        return (move_line.lot_id.expiration_date or fields.Datetime.now(), move_line.id)

    @api.model
    def _meso_session_cost_action(self):
        """Consumption cost per session, for clinic managers (the server action's group)."""
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Cost per session"),
            "res_model": self._name,
            "view_mode": "pivot,list",
            "views": [
                (self.env.ref("meso_inventory.meso_treatment_consumption_view_pivot").id, "pivot"),
                (self.env.ref("meso_inventory.meso_treatment_consumption_view_list").id, "list"),
            ],
            "context": {
                "search_default_done": 1,
                "pivot_row_groupby": ["session_id"],
                "pivot_column_groupby": [],
                "pivot_measures": ["cost", "vial_qty", "volume_ml"],
            },
        }
