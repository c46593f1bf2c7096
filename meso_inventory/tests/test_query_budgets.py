"""Query budgets of the hot paths, measured on this suite's data: a change that makes
one of them run many more queries fails here before it reaches the benchmarks (bench/),
which compare them with Odoo's own flows at scale."""

from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.tests import tagged

from .common import MesoCommon

NOW = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestQueryBudgets(MesoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        vendor = cls.env["res.partner"].create({"name": "Budget Vendor"})
        cls.vials = [
            cls._create_vial(
                f"Budget vial {index}",
                seller_ids=[(0, 0, {"partner_id": vendor.id, "price": 5.0, "delay": 3})],
            )
            for index in range(3)
        ]
        for vial in cls.vials:
            cls._stock(cls._create_lot(vial, f"{vial.name}-L", 200, now=NOW), 40)
            cls.env["stock.warehouse.orderpoint"].create(
                {
                    "product_id": vial.product_variant_id.id,
                    "warehouse_id": cls.warehouse.id,
                    "product_min_qty": 2,
                    "product_max_qty": 10,
                    "meso_auto_threshold": True,
                }
            )
        cls.patient = cls._create_patient()

    def _sessions(self, count):
        return self.env["meso.treatment.session"].concat(
            *(
                self._session(self.patient, [(vial, 2.0) for vial in self.vials])
                for _index in range(count)
            )
        )

    def test_completing_one_session(self):
        self._sessions(1).action_done()  # warm the caches
        session = self._sessions(1)
        session.env.invalidate_all()  # completed in another request than its creation
        with self.assertQueryCount(BUDGET_ONE_SESSION):
            session.action_done()

    def test_completing_a_prepared_session(self):
        self._sessions(1).action_done()
        session = self._sessions(1)
        session.action_meso_prepare()
        session.env.invalidate_all()  # completed later, in another request
        with self.assertQueryCount(BUDGET_PREPARED_SESSION):
            session.action_done()

    def test_completing_a_batch(self):
        self._sessions(1).action_done()
        sessions = self._sessions(5)
        with self.assertQueryCount(BUDGET_BATCH_OF_FIVE):
            sessions.action_done()

    def test_learning_thresholds_does_not_grow_with_the_rules(self):
        with freeze_time(NOW - timedelta(days=10)):
            self._sessions(2).action_done()
        rules = self.env["stock.warehouse.orderpoint"].search(
            [("product_id", "in", [vial.product_variant_id.id for vial in self.vials])]
        )
        rules.action_meso_learn_thresholds()  # warm the caches
        with self.assertQueryCount(BUDGET_LEARNING):
            rules[:1].action_meso_learn_thresholds()
        with self.assertQueryCount(BUDGET_LEARNING):
            rules.action_meso_learn_thresholds()

    def test_audit_export(self):
        self._sessions(3).action_done()
        self.env["meso.audit.export"].create({"warehouse_id": self.warehouse.id}).action_export()
        wizard = self.env["meso.audit.export"].create({"warehouse_id": self.warehouse.id})
        with self.assertQueryCount(BUDGET_EXPORT):
            wizard.action_export()


# measured (2026-11-26), caches cold as in a request of its own: 115, 79, 242, 4 and 38
# queries; the headroom absorbs cache noise
BUDGET_ONE_SESSION = 125  # 3 lines: screening, allocation, picking, ledger, reordering
BUDGET_PREPARED_SESSION = 88  # its vials reserved: the transfer's validation, the ledger
BUDGET_BATCH_OF_FIVE = 265  # set-based: one picking validation and ledger write a wave
BUDGET_LEARNING = 4  # whatever the number of rules
BUDGET_EXPORT = 45  # seven sheets
