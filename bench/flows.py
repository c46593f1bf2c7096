"""The measured flows: ours, and Odoo's own equivalent on the same data.

Each flow is `flow(env, prepared)`; `prepare(env)` builds what the flow starts from and is
not measured. Everything runs in one transaction that measure.py rolls back.
"""

from datetime import datetime

from datagen import BENCH_VIALS

from odoo import Command

EXPORT_FIELDS = [
    ("date", "Date", "datetime"),
    ("reference", "Reference", "char"),
    ("picking_partner_id", "Partner", "many2one"),
    ("product_id", "Product", "many2one"),
    ("lot_id", "Lot/Serial Number", "many2one"),
    ("lot_id/expiration_date", "Lot/Expiration Date", "datetime"),
    ("quantity", "Quantity", "float"),
    ("product_uom_id", "Unit", "many2one"),
    ("location_id", "From", "many2one"),
    ("location_dest_id", "To", "many2one"),
]


class Bench:
    """Records of the benchmark catalogue, looked up once per environment."""

    def __init__(self, env, state):
        self.state = state
        self.warehouse = env["stock.warehouse"].browse(state["warehouse_id"])
        self.products = env["product.product"].browse(state["bench_product_ids"])
        self.patient = env["meso.patient"].browse(state["patient_ids"][0])

    # ------------------------------------------------------------------
    # 1-2. Completing sessions / validating pickings
    # ------------------------------------------------------------------
    def session_values(self, warehouse=None, products=None):
        """A session of the bench vials (or of `products`, 2 ml each) in the bench clinic
        (or `warehouse`)."""
        if products is None:
            lines = [
                (product, vial[3]) for product, vial in zip(self.products, BENCH_VIALS, strict=True)
            ]
        else:
            lines = [(product, 2.0) for product in products]
        return {
            "patient_id": self.patient.id,
            "warehouse_id": (warehouse or self.warehouse).id,
            "line_ids": [
                Command.create({"product_id": product.id, "volume_ml": ml}) for product, ml in lines
            ],
        }

    def make_sessions(self, env, count=1):
        return env["meso.treatment.session"].create(
            [self.session_values() for _index in range(count)]
        )

    @staticmethod
    def complete_sessions(_env, sessions):
        sessions.action_done()

    @staticmethod
    def complete_one_by_one(env, sessions):
        for session in sessions:
            session.action_done()
            env.flush_all()

    def picking_values(self, env, warehouse=None, products=None):
        """Odoo's delivery of one vial of each bench vial (or of `products`) from the
        bench clinic (or `warehouse`)."""
        warehouse = warehouse or self.warehouse
        out_type = warehouse.out_type_id
        source = warehouse.lot_stock_id
        destination = env.ref("stock.stock_location_customers")
        return {
            "picking_type_id": out_type.id,
            "location_id": source.id,
            "location_dest_id": destination.id,
            "partner_id": self.patient.partner_id.id,
            "move_ids": [
                Command.create(
                    {
                        "name": product.display_name,
                        "product_id": product.id,
                        "product_uom": product.uom_id.id,
                        "product_uom_qty": 1.0,
                        "location_id": source.id,
                        "location_dest_id": destination.id,
                    }
                )
                for product in (self.products if products is None else products)
            ],
        }

    def validate_pickings(self, env, count=1):
        """Odoo's outgoing flow: create, confirm, reserve (FEFO), pick, validate."""
        pickings = env["stock.picking"].create(
            [self.picking_values(env) for _index in range(count)]
        )
        pickings.action_confirm()
        pickings.action_assign()
        pickings.move_ids.picked = True
        result = pickings.with_context(skip_backorder=True).button_validate()
        assert result is True and set(pickings.mapped("state")) == {"done"}, result
        return pickings

    def validate_pickings_one_by_one(self, env, count):
        for _index in range(count):
            self.validate_pickings(env)
            env.flush_all()

    # ------------------------------------------------------------------
    # 3. Thresholds learned from usage / Odoo's replenishment quantities
    # ------------------------------------------------------------------
    @staticmethod
    def vial_orderpoints(env, limit=None):
        return env["stock.warehouse.orderpoint"].search(
            [("product_id.meso_is_vial", "=", True)], order="id", limit=limit
        )

    @staticmethod
    def learn_thresholds(_env, orderpoints):
        orderpoints.action_meso_learn_thresholds()

    @staticmethod
    def odoo_replenishment(_env, orderpoints):
        orderpoints.read(["qty_on_hand", "qty_forecast", "qty_to_order"])

    # ------------------------------------------------------------------
    # 4. Audit export / Odoo's list export to xlsx
    # ------------------------------------------------------------------
    def export_period(self, env, lines):
        """The start date that puts the `lines` latest consumption lines in the period."""
        env.cr.execute(
            "SELECT date FROM meso_treatment_consumption WHERE session_state = 'done' "
            "AND company_id = %s ORDER BY date DESC OFFSET %s LIMIT 1",
            [self.warehouse.company_id.id, max(lines - 1, 0)],
        )
        row = env.cr.fetchone()
        return row[0] if row else datetime(2000, 1, 1)

    def audit_wizard(self, env, start):
        return env["meso.audit.export"].create(
            {"warehouse_id": self.warehouse.id, "period_start": start, "period_end": datetime.now()}
        )

    @staticmethod
    def audit_export(_env, wizard):
        wizard.action_export()
        assert wizard.file_data

    @staticmethod
    def move_line_domain(start):
        return [
            ("picking_id.meso_session_id", "!=", False),
            ("state", "=", "done"),
            ("date", ">=", start),
            ("date", "<=", datetime.now()),
        ]

    @staticmethod
    def odoo_list_export(env, start):
        """What /web/export/xlsx does for a list export of these move lines."""
        from odoo.addons.web.controllers.export import ExcelExport  # noqa: PLC0415
        from odoo.http import _request_stack  # noqa: PLC0415

        records = env["stock.move.line"].search(
            Bench.move_line_domain(start), offset=0, limit=False, order=False
        )
        names = [name for name, _label, _type in EXPORT_FIELDS]
        rows = records.export_data(names).get("datas", [])
        fields = [
            {"name": name, "label": label, "type": ftype} for name, label, ftype in EXPORT_FIELDS
        ]
        # the writer reads the currency precision through the request's environment
        _request_stack.push(_FakeRequest(env))
        try:
            content = ExcelExport().from_data(fields, [f["label"] for f in fields], rows)
        finally:
            _request_stack.pop()
        assert content


class _FakeRequest:
    def __init__(self, env):
        self.env = env
