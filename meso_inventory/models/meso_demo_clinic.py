import math
import random
from collections import defaultdict
from datetime import datetime, time, timedelta

from odoo import Command, api, fields, models

# (name, area, goal, [(vial xmlid, ml)], initial sessions, interval days, maintenance days)
PROTOCOLS = [
    ("face hydration", "face", "hydration", [("ha_booster", 2.0), ("multivit", 2.0)], 4, 14, 90),
    ("radiance", "face", "radiance", [("glow", 2.0), ("vit_c", 1.0)], 4, 14, 90),
    ("fine lines", "face", "fine_lines", [("peptide", 2.0), ("ha_booster", 2.0)], 3, 14, 90),
    ("hair loss", "scalp", "hair_loss", [("hair", 3.0), ("amino", 2.0)], 6, 7, 60),
    ("hands", "hands", "fine_lines", [("ha_booster", 2.0), ("silicon", 1.0)], 3, 14, 60),
    ("neck firmness", "neck", "fine_lines", [("glow", 2.0), ("silicon", 1.0)], 4, 10, 90),
]
PATIENTS = [
    ("Camille Girard", "+33 6 41 22 18 90"),
    ("Léa Fontaine", "+33 6 73 10 44 21"),
    ("Inès Morel", "+33 7 52 61 09 37"),
    ("Chloé Lambert", "+33 6 29 84 75 12"),
    ("Manon Rousseau", "+33 6 80 13 56 44"),
    ("Sarah Cohen", "+33 6 18 27 93 05"),
    ("Émilie Garnier", "+33 7 66 40 12 88"),
    ("Thomas Petit", "+33 6 05 91 38 26"),
    ("Laura Bianchi", "+39 333 451 2290"),
    ("Anna Kowalski", "+48 601 223 904"),
    ("Marie Leroy", "+33 6 47 35 80 19"),
    ("Pauline Faure", "+33 6 92 08 67 31"),
    ("Nicolas Bonnet", "+33 7 14 58 20 63"),
]
# shelf life of a delivered lot, in days, and the lot prefix of each vial
LOTS = {
    "ha_booster": ("HA15", 400),
    "vit_c": ("VC20", 300),
    "multivit": ("MVX", 330),
    "peptide": ("PEP", 360),
    "amino": ("AA5", 420),
    "silicon": ("SI05", 540),
    "hair": ("HR", 300),
    "glow": ("GLOW", 400),
}
HISTORY_DAYS = 182
DELIVERY_DAYS = 30


class MesoDemoClinic(models.AbstractModel):
    _name = "meso.demo.clinic"
    _description = "Demo clinic history"

    @api.model
    def _generate(self, seed=2024):
        return self.with_context(tracking_disable=True, mail_create_nolog=True)._demo_history(seed)

    @api.model
    def _demo_history(self, seed):
        """Six months of a two-practitioner clinic, before the install day: patients
        following their courses, a delivery from each vendor every month and the
        sessions of the month completed in one batch through action_done (real pickings,
        real ledger). Deterministic for a given seed and install day."""
        rng = random.Random(seed)
        today = datetime.combine(fields.Date.context_today(self), time())
        start = today - timedelta(days=HISTORY_DAYS)
        warehouse = self.env.ref("stock.warehouse0")
        vials = {
            key: self.env.ref(f"meso_inventory.product_template_{key}_demo").product_variant_id
            for key in LOTS
        }
        practitioners = [
            self.env.ref("meso_inventory.res_users_practitioner_demo"),
            self.env.ref("meso_inventory.res_users_practitioner_ines_demo"),
        ]
        manager = self.env.ref("meso_inventory.res_users_clinic_manager_demo")
        values = []
        for name, phone in PATIENTS:
            birth = rng.randint(1965, 2001)
            values.append(
                {
                    "name": name,
                    "partner_id": self.env["res.partner"]
                    .create(
                        {
                            "name": name,
                            "phone": phone,
                            "email": name.lower().replace(" ", ".") + "@example.com",
                            "company_id": warehouse.company_id.id,
                        }
                    )
                    .id,
                    "birthdate": fields.Date.to_date(f"{birth}-{rng.randint(1, 12):02d}-15"),
                    "skin_type": str(rng.randint(1, 5)),
                }
            )
        patients = self.env["meso.patient"].create(values)
        sessions = []
        practitioner_of = {}
        for index, patient in enumerate(patients):
            practitioner = practitioners[index % 2]
            # first visits spread over the months, the earliest at the start
            spread = (HISTORY_DAYS - 40) * index // len(patients)
            first = start + timedelta(days=spread + rng.randint(0, 10))
            patient.screened_on = (first - timedelta(days=rng.randint(3, 10))).date()
            courses = [(rng.choice(PROTOCOLS), first)]
            if rng.random() < 0.5:
                later = first + timedelta(days=rng.randint(20, 90))
                courses.append((rng.choice(PROTOCOLS), later))
            for protocol, course_start in courses:
                formulation = self._demo_formulation(patient, protocol, vials, course_start)
                practitioner_of[formulation] = practitioner
                for date, maintenance in self._demo_dates(rng, formulation, course_start, today):
                    sessions.append(
                        {
                            "patient_id": patient.id,
                            "formulation_id": formulation.id,
                            "practitioner_id": (
                                manager if rng.random() < 0.08 else practitioner
                            ).id,
                            "warehouse_id": warehouse.id,
                            "date": date,
                            "is_maintenance": maintenance,
                        }
                    )
        sessions = self.env["meso.treatment.session"].create(
            sorted(sessions, key=lambda v: v["date"])
        )
        # a delivery a month, the last one before the demo's own sessions of the last weeks
        deliveries = []
        delivery = start - timedelta(days=3)
        while delivery <= today - timedelta(days=DELIVERY_DAYS):
            deliveries.append(delivery)
            delivery += timedelta(days=DELIVERY_DAYS)
        for number, delivery in enumerate(deliveries, start=1):
            until = deliveries[number] if number < len(deliveries) else today
            month = sessions.filtered(lambda s, d=delivery, u=until: d <= s.date < u)
            self._demo_receive(warehouse, delivery, month, vials, number=number, rng=rng)
            month.action_done()
        # the courses still under way go on in the calendar
        for formulation in sessions.formulation_id:
            if len(formulation.session_ids) < formulation.session_count:
                formulation.action_plan_course()
                formulation.session_ids.filtered(lambda s: s.state == "planned").write(
                    {"practitioner_id": practitioner_of[formulation].id}
                )
        return True

    @api.model
    def _demo_formulation(self, patient, protocol, vials, course_start):
        name, area, goal, lines, count, interval, maintenance = protocol
        return self.env["meso.formulation"].create(
            {
                "name": f"{patient.name.split()[0]}: {name}",
                "patient_id": patient.id,
                "treatment_area": area,
                "goal": goal,
                "session_count": count,
                "interval_days": interval,
                "maintenance_interval_days": maintenance,
                "course_start_date": course_start,
                "line_ids": [
                    Command.create({"product_id": vials[key].id, "volume_ml": ml})
                    for key, ml in lines
                ],
            }
        )

    @api.model
    def _demo_dates(self, rng, formulation, course_start, today):
        """The course (a day or two late now and then), then maintenance, on weekdays
        between 9:00 and 18:00, up to yesterday."""
        dates = []
        day = course_start
        for index in range(formulation.session_count):
            if index:
                day += timedelta(days=formulation.interval_days + rng.choice((0, 0, 0, 1, 2)))
            dates.append((day, False))
        while True:
            day += timedelta(days=formulation.maintenance_interval_days + rng.randint(-5, 5))
            dates.append((day, True))
            if day >= today:
                break
        result = []
        for planned, maintenance in dates:
            day = planned
            while day.weekday() >= 5:
                day += timedelta(days=1)
            moment = day.replace(hour=rng.randint(9, 17), minute=rng.choice((0, 15, 30, 45)))
            if moment < today - timedelta(hours=12):
                result.append((moment, maintenance))
        return result

    @api.model
    def _demo_receive(self, warehouse, date, sessions, vials, *, number, rng):
        """The month's delivery: what its sessions need, a margin, in the vendor's packs,
        less what is still on the shelf; one validated receipt per vendor, dated then."""
        need = defaultdict(float)
        for line in sessions.line_ids:
            need[line.product_id] += math.ceil(line.volume_ml / line.product_id.meso_volume_ml)
        by_vendor = defaultdict(dict)
        stock = warehouse.lot_stock_id
        for product, vials_needed in need.items():
            on_hand = product.with_context(location=stock.id).qty_available
            missing = vials_needed * 1.2 + 2 - on_hand
            if missing <= 0:
                continue
            seller = product.seller_ids[:1]
            pack = 5
            by_vendor[seller.partner_id][product] = pack * math.ceil(missing / pack)
        keys = {product: key for key, product in vials.items()}
        supplier = self.env.ref("stock.stock_location_suppliers")
        for vendor, quantities in by_vendor.items():
            picking = self.env["stock.picking"].create(
                {
                    "picking_type_id": warehouse.in_type_id.id,
                    "partner_id": vendor.id,
                    "location_id": supplier.id,
                    "location_dest_id": stock.id,
                    "origin": f"Delivery {number:02d}",
                    "scheduled_date": date,
                    "move_ids": [
                        Command.create(
                            {
                                "name": product.display_name,
                                "product_id": product.id,
                                "product_uom": product.uom_id.id,
                                "product_uom_qty": qty,
                                "location_id": supplier.id,
                                "location_dest_id": stock.id,
                            }
                        )
                        for product, qty in quantities.items()
                    ],
                }
            )
            picking.action_confirm()
            lots = self.env["stock.lot"].create(
                [
                    {
                        "name": f"{LOTS[keys[move.product_id]][0]}-{date:%y%m}{number:02d}",
                        "product_id": move.product_id.id,
                        "company_id": warehouse.company_id.id,
                        "expiration_date": date
                        + timedelta(days=LOTS[keys[move.product_id]][1] + rng.randint(-30, 30)),
                    }
                    for move in picking.move_ids
                ]
            )
            for move, lot in zip(picking.move_ids, lots, strict=True):
                move.move_line_ids = [
                    Command.clear(),
                    Command.create(
                        {
                            "product_id": move.product_id.id,
                            "product_uom_id": move.product_uom.id,
                            "lot_id": lot.id,
                            "quantity": move.product_uom_qty,
                            "location_id": supplier.id,
                            "location_dest_id": stock.id,
                            "picking_id": picking.id,
                        }
                    ),
                ]
            picking.move_ids.picked = True
            picking.button_validate()
            # received that day: the sessions of the month may use these lots
            picking.move_ids.write({"date": date})
            picking.move_ids.move_line_ids.write({"date": date})
            picking.date_done = date
            self.env["stock.quant"].search(
                [("lot_id", "in", lots.ids), ("location_id", "=", stock.id)]
            ).write({"in_date": date})
