"""Benchmark data: a catalogue made with the ORM, a treatment history bulk-inserted in SQL.

The catalogue (vials, lots, stock, reordering rules, patients) goes through the ORM so that
every computed field and constraint of the addon applies. The history of completed sessions
(session, lines, consumption per lot, opened multi-dose vials, a done picking with its moves
and move lines) is inserted in SQL, in the shape the addon writes it, because completing
50,000 sessions through the ORM would take hours; it is history only, so quants are not
derived from it (stock is set on the lots directly). The measured flows always use the
real ORM methods on top of it.
"""

import json
import random
from datetime import datetime, timedelta

from psycopg2.extras import execute_values

from odoo import Command

STATE_KEY = "meso_bench.state"
BENCH_LOT_STOCK = 5000
CATALOGUE_LOT_STOCK = 20
HISTORY_DAYS = 89  # within the addon's default 90-day usage window
CHUNK = 5000

SCALES = {
    "small": {
        "history_low": 200,
        "history_high": 2000,
        "moves": 5000,
        "products": 300,
        "lots": 1000,
        "batch": 50,
        "export_lines": 3000,
        "repeat": 5,
        "rpc_sessions": 120,
        # the 3-of-24 case, where both sides run near the same rate: a longer measure
        "rpc_sessions_spread": 480,
        "rpc_seconds": 150,
        "rpc_threads": 6,
    },
    "large": {
        "history_low": 1000,
        "history_high": 50000,
        "moves": 200000,
        "products": 5000,
        "lots": 20000,
        "batch": 1000,
        "export_lines": 100000,
        "repeat": 3,
        "rpc_sessions": 400,
        "rpc_sessions_spread": 800,
        "rpc_seconds": 240,
        "rpc_threads": 8,
    },
}

# (name, ml per vial, multi-dose, ml injected per session)
BENCH_VIALS = [
    ("Bench HA booster 2 ml", 2.0, False, 2.0),
    ("Bench vitamin C 5 ml", 5.0, False, 3.0),
    ("Bench peptide 10 ml (multi-dose)", 10.0, True, 1.0),
]


def load_state(env):
    raw = env["ir.config_parameter"].sudo().get_param(STATE_KEY)
    return json.loads(raw) if raw else {}


def save_state(env, state):
    env["ir.config_parameter"].sudo().set_param(STATE_KEY, json.dumps(state))


def _log(message):
    print(f"[bench] {message}", flush=True)


# ----------------------------------------------------------------------
# Catalogue, through the ORM
# ----------------------------------------------------------------------
def ensure_catalogue(env, scale):
    """Vials, lots, stock, reordering rules and patients; once per database."""
    state = load_state(env)
    if state.get("catalogue"):
        if state["catalogue"] != scale:
            raise SystemExit(
                f"Database was generated at scale {state['catalogue']!r}, not {scale!r}: "
                "run without MESO_BENCH_REUSE to recreate it."
            )
        return state
    config = SCALES[scale]
    rng = random.Random(7)
    now = datetime.now()
    warehouse = env.ref("stock.warehouse0")
    warehouse._meso_consumption_type()
    stock = warehouse.lot_stock_id
    ingredients = env["meso.ingredient"].create(
        [
            {"name": "Bench hyaluronic acid", "category": "hyaluronic_acid"},
            {"name": "Bench vitamin C", "category": "vitamin"},
        ]
    )
    vendor = env["res.partner"].create({"name": "Bench vials supplier"})

    def vial(name, volume, multi_dose, index):
        return {
            "name": name,
            "default_code": f"BV{index:05d}",
            "meso_is_vial": True,
            "meso_volume_ml": volume,
            "meso_multi_dose": multi_dose,
            "meso_in_use_hours": 24.0 if multi_dose else 0.0,
            "meso_regulatory_status": "ce",
            "standard_price": 10.0,
            "meso_composition_ids": [
                Command.create({"ingredient_id": ingredients[index % 2].id, "concentration": 15.0})
            ],
            "seller_ids": [Command.create({"partner_id": vendor.id, "price": 8.0, "delay": 5})],
        }

    _log("catalogue: bench vials")
    Template = env["product.template"]
    bench = Template.create(
        [vial(name, volume, multi, i) for i, (name, volume, multi, _ml) in enumerate(BENCH_VIALS)]
    )
    _log(f"catalogue: {config['products']} catalogue vials")
    catalogue = Template
    for start in range(0, config["products"], 500):
        stop = min(start + 500, config["products"])
        catalogue |= Template.create(
            [vial(f"Catalogue vial {i:05d} 2 ml", 2.0, False, 10 + i) for i in range(start, stop)]
        )
        env.flush_all()
    bench_products = bench.product_variant_id
    catalogue_products = catalogue.product_variant_id

    _log(f"catalogue: {config['lots']} lots")
    Lot = env["stock.lot"]
    bench_lots = Lot.create(
        [
            {
                "name": f"BENCH-{product.default_code}-{k}",
                "product_id": product.id,
                "company_id": warehouse.company_id.id,
                "expiration_date": now + timedelta(days=200 * (k + 1)),
            }
            for product in bench_products
            for k in range(3)
        ]
    )
    for lot in bench_lots:
        env["stock.quant"]._update_available_quantity(
            lot.product_id, stock, BENCH_LOT_STOCK, lot_id=lot
        )
    catalogue_lot_count = max(config["lots"] - len(bench_lots), len(catalogue_products))
    catalogue_lots = Lot
    for start in range(0, catalogue_lot_count, 2000):
        stop = min(start + 2000, catalogue_lot_count)
        catalogue_lots |= Lot.create(
            [
                {
                    "name": f"CAT-{i:06d}",
                    "product_id": catalogue_products[i % len(catalogue_products)].id,
                    "company_id": warehouse.company_id.id,
                    "expiration_date": now + timedelta(days=rng.randint(20, 900)),
                }
                for i in range(start, stop)
            ]
        )
        env.flush_all()
    _insert(
        env,
        "stock_quant",
        [
            {
                "product_id": lot.product_id.id,
                "location_id": stock.id,
                "lot_id": lot.id,
                "company_id": warehouse.company_id.id,
                "quantity": CATALOGUE_LOT_STOCK,
                "reserved_quantity": 0,
                "in_date": now - timedelta(days=100),
                "create_uid": env.uid,
                "write_uid": env.uid,
                "create_date": now,
                "write_date": now,
            }
            for lot in catalogue_lots
        ],
    )

    _log("catalogue: reordering rules and patients")
    Orderpoint = env["stock.warehouse.orderpoint"]
    rules = [
        {
            "product_id": product.id,
            "warehouse_id": warehouse.id,
            "location_id": stock.id,
            "product_min_qty": 10,
            "product_max_qty": 20,
        }
        for product in bench_products
    ] + [
        {
            "product_id": product.id,
            "warehouse_id": warehouse.id,
            "location_id": stock.id,
            "product_min_qty": 2,
            "product_max_qty": 10,
            "meso_auto_threshold": True,
        }
        for product in catalogue_products
    ]
    for start in range(0, len(rules), 1000):
        Orderpoint.create(rules[start : start + 1000])
        env.flush_all()
    partners = env["res.partner"].create([{"name": f"Bench patient {i:03d}"} for i in range(40)])
    patients = env["meso.patient"].create(
        [{"name": partner.name, "partner_id": partner.id} for partner in partners]
    )
    state = {
        "catalogue": scale,
        "warehouse_id": warehouse.id,
        "bench_product_ids": bench_products.ids,
        "bench_lot_ids": bench_lots.ids,
        "catalogue_product_ids": catalogue_products.ids,
        "catalogue_lot_ids": catalogue_lots.ids,
        "patient_ids": patients.ids,
        "history": 0,
    }
    save_state(env, state)
    env.cr.commit()
    return state


def top_up_bench_stock(env, state):
    """Every bench lot back to its initial quantity (earlier runs consumed some)."""
    stock = env["stock.warehouse"].browse(state["warehouse_id"]).lot_stock_id
    Quant = env["stock.quant"]
    for lot in env["stock.lot"].browse(state["bench_lot_ids"]):
        available = Quant._get_available_quantity(lot.product_id, stock, lot_id=lot, strict=True)
        if available < BENCH_LOT_STOCK:
            Quant._update_available_quantity(
                lot.product_id, stock, BENCH_LOT_STOCK - available, lot_id=lot
            )
    env.cr.commit()


def top_up_catalogue_stock(env, state, products, warehouses, quantity):
    """At least `quantity` vials of each of these catalogue vials in each clinic (in its
    first lot), received long before the sessions."""
    Quant = env["stock.quant"]
    lots = env["stock.lot"].browse(state["catalogue_lot_ids"])
    for product in products:
        lot = lots.filtered(lambda lot, product=product: lot.product_id == product)[:1]
        for warehouse in warehouses:
            stock = warehouse.lot_stock_id
            available = Quant._get_available_quantity(product, stock)
            if available < quantity:
                Quant._update_available_quantity(
                    product,
                    stock,
                    quantity - available,
                    lot_id=lot,
                    in_date=datetime.now() - timedelta(days=100),
                )
    env.cr.commit()


def ensure_second_clinic(env, state):
    """A second clinic of the company holding the bench lots too (the concurrent
    benchmark's two-clinic case), its stock topped up like the first's."""
    warehouse = env["stock.warehouse"].search([("code", "=", "BNCH2")], limit=1)
    if not warehouse:
        warehouse = env["stock.warehouse"].create({"name": "Bench clinic 2", "code": "BNCH2"})
        warehouse._meso_consumption_type()
    Quant = env["stock.quant"]
    for lot in env["stock.lot"].browse(state["bench_lot_ids"]):
        available = Quant._get_available_quantity(
            lot.product_id, warehouse.lot_stock_id, lot_id=lot, strict=True
        )
        if available < BENCH_LOT_STOCK:
            Quant._update_available_quantity(
                lot.product_id, warehouse.lot_stock_id, BENCH_LOT_STOCK - available, lot_id=lot
            )
    # received long before the sessions
    Quant.search([("location_id", "=", warehouse.lot_stock_id.id)]).write(
        {"in_date": datetime.now() - timedelta(days=100)}
    )
    return warehouse


# ----------------------------------------------------------------------
# History, in SQL
# ----------------------------------------------------------------------
def _columns(env, table):
    env.cr.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s", [table]
    )
    return {name for (name,) in env.cr.fetchall()}


_COLUMN_CACHE = {}


def _insert(env, table, rows):
    """Bulk insert of dict rows; keys that the table does not have are dropped, so that a
    new optional column in the addon does not break the generator."""
    if not rows:
        return
    if table not in _COLUMN_CACHE:
        _COLUMN_CACHE[table] = _columns(env, table)
    names = [name for name in rows[0] if name in _COLUMN_CACHE[table]]
    query = f'INSERT INTO "{table}" ({", ".join(names)}) VALUES %s'  # noqa: S608
    for start in range(0, len(rows), CHUNK):
        execute_values(
            env.cr._obj,
            query,
            [tuple(row[name] for name in names) for row in rows[start : start + CHUNK]],
            page_size=1000,
        )


def _ids(env, table, count):
    env.cr.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [f"{table}_id_seq", count])
    return [row[0] for row in env.cr.fetchall()]


def grow_history(env, state, sessions):
    """Bring the number of completed history sessions up to `sessions` (3 lines each)."""
    missing = sessions - state.get("history", 0)
    if missing <= 0:
        return state
    _log(f"history: inserting {missing} completed sessions ({3 * missing} moves)")
    for start in range(0, missing, 10000):
        _insert_sessions(env, state, state["history"] + start, min(10000, missing - start))
    state["history"] = sessions
    save_state(env, state)
    env.cr.execute(
        "ANALYZE meso_treatment_session, meso_treatment_session_line, "
        "meso_treatment_consumption, meso_opened_vial, stock_picking, stock_move, "
        "stock_move_line"
    )
    env.cr.commit()
    env.invalidate_all()
    return state


def _insert_sessions(env, state, offset, count):  # noqa: PLR0915  one row builder per table
    rng = random.Random(offset)
    now = datetime.now()
    uid = env.uid
    warehouse = env["stock.warehouse"].browse(state["warehouse_id"])
    company = warehouse.company_id.id
    picking_type = warehouse._meso_consumption_type()
    source = warehouse.lot_stock_id.id
    destination = picking_type.default_location_dest_id.id
    patients = env["meso.patient"].browse(state["patient_ids"])
    patient_partner = {patient.id: patient.partner_id.id for patient in patients}
    products = env["product.product"].browse(
        state["bench_product_ids"] + state["catalogue_product_ids"]
    )
    info = {
        p.id: (p.display_name, p.uom_id.id, p.meso_volume_ml, p.meso_multi_dose) for p in products
    }
    lots_by_product = {}
    for lot in env["stock.lot"].browse(state["bench_lot_ids"] + state["catalogue_lot_ids"]):
        lots_by_product.setdefault(lot.product_id.id, []).append(lot.id)
    lot_names = {
        lot.id: lot.name
        for lot in env["stock.lot"].browse([i for ids in lots_by_product.values() for i in ids])
    }
    catalogue = state["catalogue_product_ids"]
    bench = state["bench_product_ids"]
    volumes = {bench[i]: vial[3] for i, vial in enumerate(BENCH_VIALS)}

    session_ids = _ids(env, "meso_treatment_session", count)
    picking_ids = _ids(env, "stock_picking", count)
    line_ids = _ids(env, "meso_treatment_session_line", 3 * count)
    move_ids = _ids(env, "stock_move", 3 * count)
    move_line_ids = _ids(env, "stock_move_line", 3 * count)
    consumption_ids = _ids(env, "meso_treatment_consumption", 3 * count)
    stamp = {"create_uid": uid, "write_uid": uid, "create_date": now, "write_date": now}
    rows = {
        table: []
        for table in (
            "meso_treatment_session",
            "stock_picking",
            "meso_treatment_session_line",
            "stock_move",
            "stock_move_line",
            "meso_opened_vial",
            "meso_treatment_consumption",
        )
    }
    opened = []
    for k in range(count):
        number = offset + k + 1
        session_id, picking_id = session_ids[k], picking_ids[k]
        date = now - timedelta(seconds=rng.randint(3600, HISTORY_DAYS * 86400))
        patient = rng.choice(state["patient_ids"])
        name = f"BH{number:07d}"
        picking_name = f"WH/TRT/H{number:07d}"
        rows["meso_treatment_session"].append(
            dict(
                stamp,
                id=session_id,
                name=name,
                patient_id=patient,
                practitioner_id=uid,
                date=date,
                state="done",
                company_id=company,
                warehouse_id=warehouse.id,
                is_maintenance=False,
            )
        )
        rows["stock_picking"].append(
            dict(
                stamp,
                id=picking_id,
                name=picking_name,
                origin=name,
                state="done",
                move_type="direct",
                picking_type_id=picking_type.id,
                location_id=source,
                location_dest_id=destination,
                partner_id=patient_partner[patient],
                scheduled_date=date,
                date=date,
                date_done=date,
                company_id=company,
                meso_session_id=session_id,
                priority="0",
                is_locked=True,
            )
        )
        lines = [bench[number % 3], rng.choice(catalogue), rng.choice(catalogue)]
        for j, product in enumerate(lines):
            index = 3 * k + j
            line_id, move_id = line_ids[index], move_ids[index]
            lot = rng.choice(lots_by_product[product])
            label, uom, volume, multi_dose = info[product]
            injected = volumes.get(product, volume)
            vial_id = None
            if multi_dose:
                vial_id = len(opened)
                opened.append(
                    dict(
                        stamp,
                        lot_id=lot,
                        product_id=product,
                        company_id=company,
                        session_id=session_id,
                        opened_at=date,
                        beyond_use_at=date + timedelta(hours=24),
                        remaining_ml=0.0,
                        waste_ml=volume - injected,
                        state="discarded",
                        name=f"{lot_names[lot]} · {date:%Y-%m-%d %H:%M}",
                    )
                )
            rows["meso_treatment_session_line"].append(
                dict(
                    stamp,
                    id=line_id,
                    session_id=session_id,
                    sequence=10 * (j + 1),
                    product_id=product,
                    volume_ml=injected,
                    lot_id=lot,
                    company_id=company,
                )
            )
            move = {
                "company_id": company,
                "date": date,
                "location_id": source,
                "location_dest_id": destination,
                "product_id": product,
                "product_uom": uom,
                "picking_id": picking_id,
                "state": "done",
                "reference": picking_name,
            }
            rows["stock_move"].append(
                dict(
                    stamp,
                    **move,
                    id=move_id,
                    name=label,
                    procure_method="make_to_stock",
                    product_uom_qty=1.0,
                    product_qty=1.0,
                    quantity=1.0,
                    picked=True,
                    picking_type_id=picking_type.id,
                    warehouse_id=warehouse.id,
                    origin=name,
                    meso_session_id=session_id,
                    meso_session_line_id=line_id,
                    partner_id=patient_partner[patient],
                    priority="0",
                    sequence=10,
                    scrapped=False,
                    additional=False,
                    is_inventory=False,
                    propagate_cancel=False,
                )
            )
            rows["stock_move_line"].append(
                dict(
                    stamp,
                    **move,
                    id=move_line_ids[index],
                    move_id=move_id,
                    product_uom_id=uom,
                    lot_id=lot,
                    quantity=1.0,
                    quantity_product_uom=1.0,
                    picked=True,
                )
            )
            rows["meso_treatment_consumption"].append(
                dict(
                    stamp,
                    id=consumption_ids[index],
                    session_line_id=line_id,
                    session_id=session_id,
                    patient_id=patient,
                    practitioner_id=uid,
                    date=date,
                    session_state="done",
                    company_id=company,
                    product_id=product,
                    lot_id=lot,
                    opened_vial_id=vial_id,
                    volume_ml=injected,
                    vial_qty=1.0,
                    waste_ml=0.0 if multi_dose else volume - injected,
                    cost=10.0,
                )
            )
    vial_ids = _ids(env, "meso_opened_vial", len(opened)) if opened else []
    for vial_id, vial in zip(vial_ids, opened, strict=True):
        vial["id"] = vial_id
    for row in rows["meso_treatment_consumption"]:
        if row["opened_vial_id"] is not None:
            row["opened_vial_id"] = vial_ids[row["opened_vial_id"]]
    rows["meso_opened_vial"] = opened
    for table, table_rows in rows.items():
        _insert(env, table, table_rows)
    # the session and its picking point at each other: link them once both exist
    env.cr.execute(
        "UPDATE meso_treatment_session s SET picking_id = p.id FROM stock_picking p "
        "WHERE p.meso_session_id = s.id AND s.id = ANY(%s)",
        [session_ids],
    )
    env.cr.commit()
