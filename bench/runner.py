"""Runs the in-process benchmarks inside Odoo and writes their figures as JSON.

    python bench/runner.py -c odoo.conf -d meso_bench --scale small --out results.json
    python bench/runner.py -c odoo.conf -d meso_bench --scale small --rpc-prepare ids.json

Called by bench/run.sh, which creates the database first.
"""

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
from datetime import datetime

import datagen
from flows import Bench
from measure import measure, query_log

import odoo
from odoo.tools import config

ADMIN_UID = 2  # a real user (access rules apply), as in the web client
MIX_VIALS = 24  # the concurrent benchmark's varied case: each session takes 3 of them


def _figures(sample):
    return {
        "time": sample.time,
        "times": sample.seconds,
        "queries": sample.query_count,
        "py_mb": sample.py_peak_mb,
        "rss_mb": sample.rss_peak_mb,
    }


class Runner:
    def __init__(self, env, scale, explain=False):
        self.env = env
        self.scale = scale
        self.config = datagen.SCALES[scale]
        self.explain = explain
        self.rows = []
        self.notes = []
        self.state = datagen.ensure_catalogue(env, scale)
        datagen.top_up_bench_stock(env, self.state)
        self.bench = Bench(env, self.state)

    def log(self, message):
        print(f"[bench] {message}", flush=True)

    def row(self, key, label, ours, odoo_sample, target, **extra):
        row = dict(
            key=key,
            label=label,
            ours=_figures(ours),
            odoo=_figures(odoo_sample) if odoo_sample else None,
            target=target,
            **extra,
        )
        self.rows.append(row)
        odoo_time = (
            f"{odoo_sample.time * 1000:.1f} ms / {odoo_sample.query_count:g} q"
            if odoo_sample
            else "-"
        )
        self.log(
            f"{label}: ours {ours.time * 1000:.1f} ms / {ours.query_count:g} q, odoo {odoo_time}"
        )
        return row

    def grow(self, sessions):
        start = time.perf_counter()
        self.state = datagen.grow_history(self.env, self.state, sessions)
        self.log(f"history at {sessions} sessions ({time.perf_counter() - start:.0f} s)")

    # ------------------------------------------------------------------
    def bench_session(self, level):
        bench, env, repeat = self.bench, self.env, self.config["repeat"]
        history = self.state["history"]
        ours = measure(env, bench.complete_sessions, bench.make_sessions, repeat, warmup=2)
        theirs = measure(env, lambda e, _p: bench.validate_pickings(e), None, repeat, warmup=2)
        self.row(
            f"session_{level}",
            f"Complete 1 session (3 lines), {history} past sessions",
            ours,
            theirs,
            "<= 1.3",
            history=history,
        )
        if self.explain:
            self.explain_session()
        return ours, theirs

    def explain_session(self):
        """Query shapes that one completion runs more often than Odoo's picking flow, and
        the queries each extra line costs."""
        bench, env = self.bench, self.env
        session = bench.make_sessions(env)
        env.flush_all()
        with query_log() as ours:
            session.action_done()
            env.flush_all()
        env.cr.rollback()
        env.invalidate_all()
        with query_log() as theirs:
            bench.validate_pickings(env)
            env.flush_all()
        env.cr.rollback()
        env.invalidate_all()
        extra = ours - theirs  # keeps the shapes we run more often only
        self.log("query shapes one completion runs more often than Odoo's picking flow:")
        for shape, count in extra.most_common(15):
            self.log(f"  +{count:3d}  {shape}")
        per_lines = {}
        for lines in (1, 2, 3):

            def prepare(e, lines=lines):
                values = bench.session_values()
                values["line_ids"] = values["line_ids"][:lines]
                return e["meso.treatment.session"].create(values)

            per_lines[lines] = measure(env, bench.complete_sessions, prepare, 1).query_count
        self.log(f"queries by number of lines (1, 2, 3): {per_lines}")
        self.notes.append(
            f"queries per completed session by number of lines, {self.state['history']} "
            f"past sessions: {per_lines}"
        )

    def bench_batch(self):
        bench, env, count = self.bench, self.env, self.config["batch"]
        # warmed up by the single-session benchmark; each run completes `count` sessions
        repeat = 2 if count <= 200 else 1
        warmup = 0

        def prepare(e):
            return bench.make_sessions(e, count)

        batch = measure(env, bench.complete_sessions, prepare, repeat, warmup=warmup, divide=count)
        single = measure(
            env, bench.complete_one_by_one, prepare, repeat, warmup=warmup, divide=count
        )
        odoo_batch = measure(
            env,
            lambda e, _p: bench.validate_pickings(e, count),
            None,
            repeat,
            warmup=warmup,
            divide=count,
        )
        odoo_single = measure(
            env,
            lambda e, _p: bench.validate_pickings_one_by_one(e, count),
            None,
            repeat,
            warmup=warmup,
            divide=count,
        )
        self.row(
            "batch",
            f"Complete {count} sessions in one call, per session",
            batch,
            odoo_batch,
            "< one by one",
            batch_vs_single=batch.time / single.time,
        )
        self.row(
            "one_by_one",
            f"Complete {count} sessions one by one, per session",
            single,
            odoo_single,
            "",
        )

    def bench_thresholds(self):
        bench, env, repeat = self.bench, self.env, self.config["repeat"]
        total = len(bench.vial_orderpoints(env))
        for size in (max(total // 10, 1), total):
            ours = measure(
                env, bench.learn_thresholds, lambda e, s=size: bench.vial_orderpoints(e, s), repeat
            )
            theirs = measure(
                env,
                bench.odoo_replenishment,
                lambda e, s=size: bench.vial_orderpoints(e, s),
                repeat,
            )
            self.row(
                f"thresholds_{size}",
                f"Learn thresholds, {size} rules, {3 * self.state['history']} moves",
                ours,
                theirs,
                "queries flat",
                rules=size,
            )
            if self.explain:
                orderpoints = bench.vial_orderpoints(env, size)
                with query_log() as shapes:
                    orderpoints.action_meso_learn_thresholds()
                    env.flush_all()
                env.cr.rollback()
                env.invalidate_all()
                self.log(f"most frequent query shapes, learn thresholds on {size} rules:")
                for shape, count in shapes.most_common(8):
                    self.log(f"  {count:5d}  {shape}")

    def bench_export(self):
        bench, env = self.bench, self.env
        repeat = min(self.config["repeat"], 3)
        start = bench.export_period(env, self.config["export_lines"])
        lines = env["meso.treatment.consumption"].search_count(
            [("session_state", "=", "done"), ("date", ">=", start)]
        )
        move_lines = env["stock.move.line"].search_count(bench.move_line_domain(start))
        lots = env["stock.quant"].search_count(
            [("location_id", "=", bench.warehouse.lot_stock_id.id), ("quantity", ">", 0)]
        )
        ours = measure(
            env, bench.audit_export, lambda e: bench.audit_wizard(e, start), repeat, memory=True
        )
        theirs = measure(
            env, lambda e, _p: bench.odoo_list_export(e, start), None, repeat, memory=True
        )
        if self.explain:
            self.explain_export(start)
        self.row(
            "export",
            f"Audit export, {lines} consumption lines, {lots} lots in stock",
            ours,
            theirs,
            "<= 0.5, < 150 MB",
            consumption_lines=lines,
            odoo_rows=move_lines,
            lots=lots,
        )

    def explain_export(self, start):
        """Query shapes and the most expensive functions of one audit export."""
        bench, env = self.bench, self.env
        wizard = bench.audit_wizard(env, start)
        env.flush_all()
        profiler = cProfile.Profile()
        with query_log() as shapes:
            profiler.runcall(wizard.action_export)
        env.cr.rollback()
        env.invalidate_all()
        self.log("most frequent query shapes of one audit export:")
        for shape, count in shapes.most_common(10):
            self.log(f"  {count:5d}  {shape}")
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream).sort_stats("cumulative")
        stats.print_stats(r"meso_inventory|xlsxwriter/workbook", 25)
        self.log("most expensive functions of one audit export (cumulative):")
        print(stream.getvalue(), flush=True)

    def run(self, only):
        selected = set(only or ("session", "batch", "thresholds", "export"))
        low, high = self.config["history_low"], self.config["history_high"]
        if "session" in selected:
            self.grow(low)
            ours_low, odoo_low = self.bench_session("low")
            self.grow(high)
            ours_high, odoo_high = self.bench_session("high")
            self.rows.append(
                {
                    "key": "flatness",
                    "label": f"Session time at {high} vs {low} past sessions",
                    "flatness": {
                        "ours": ours_high.time / ours_low.time,
                        "odoo": odoo_high.time / odoo_low.time,
                        "ours_queries": (ours_high.query_count, ours_low.query_count),
                    },
                    "target": "<= 1.2",
                }
            )
        else:
            self.grow(high)
        if "batch" in selected:
            self.bench_batch()
        if "thresholds" in selected or "export" in selected:
            self.grow(max(high, -(-self.config["moves"] // 3)))
        if "thresholds" in selected:
            self.bench_thresholds()
        if "export" in selected:
            self.bench_export()
        return {
            "scale": self.scale,
            "date": datetime.now().isoformat(timespec="seconds"),
            "config": self.config,
            "rows": self.rows,
            "notes": self.notes,
        }

    def rpc_prepare(self):
        """Planned sessions and ready pickings for the concurrent benchmark, committed:
        the same flows in three cases, from the most contended to the least."""
        count = self.config["rpc_sessions"]
        spread = self.config["rpc_sessions_spread"]
        self.grow(self.config["history_low"])
        bench, env = self.bench, self.env
        main = bench.warehouse
        second = datagen.ensure_second_clinic(env, self.state)
        mix = env["product.product"].browse(self.state["catalogue_product_ids"][:MIX_VIALS])
        # (name, what report.py holds the case to, plan). The case the issue measured
        # (the same vials) and the two clinics are held to Odoo's rate; in the 3-of-24
        # case nothing is shared, and it shows that completions do not wait on each other
        plans = [
            ("one clinic, the same 3 vials", "rate", [(main, None)] * count),
            (
                f"one clinic, 3 of {MIX_VIALS} vials",
                "side_by_side",
                [
                    (main, mix[(3 * index) % MIX_VIALS : (3 * index) % MIX_VIALS + 3])
                    for index in range(spread)
                ],
            ),
            (
                "two clinics, the same 3 vials",
                "rate",
                [((main, second)[index % 2], None) for index in range(count)],
            ),
        ]
        # every flow below takes its own vials: four times the plan's need
        datagen.top_up_catalogue_stock(env, self.state, mix, (main, second), 4 * max(count, spread))
        cases = []
        for name, target, plan in plans:
            values = [bench.session_values(warehouse, products) for warehouse, products in plan]
            # prepared like Odoo's pickings below (the day's trays), and as they come to
            # the chair (nothing reserved before Complete)
            sessions = env["meso.treatment.session"].create(values)
            sessions.action_meso_prepare()
            chair = env["meso.treatment.session"].create(values)
            pickings = env["stock.picking"].create(
                [bench.picking_values(env, warehouse, products) for warehouse, products in plan]
            )
            pickings.action_confirm()
            pickings.action_assign()
            pickings.move_ids.picked = True
            cases.append(
                {
                    "name": name,
                    "target": target,
                    "session_ids": sessions.ids,
                    "chair_session_ids": chair.ids,
                    "picking_ids": pickings.ids,
                    # Odoo's whole flow, created by the clients themselves
                    "flow_values": [
                        bench.picking_values(env, warehouse, products)
                        for warehouse, products in plan
                    ],
                }
            )
        self.env.cr.commit()
        return {
            "cases": cases,
            "threads": self.config["rpc_threads"],
            "seconds": self.config["rpc_seconds"],
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--scale", choices=sorted(datagen.SCALES), default="small")
    parser.add_argument("--out", help="write the benchmark figures to this JSON file")
    parser.add_argument("--only", help="comma-separated: session,batch,thresholds,export")
    parser.add_argument("--explain", action="store_true", help="print query shapes")
    parser.add_argument("--rpc-prepare", metavar="JSON", help="prepare the RPC benchmark only")
    args = parser.parse_args()

    config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"])
    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, ADMIN_UID, {})
        env = env(context=env["res.users"].context_get())
        runner = Runner(env, args.scale, explain=args.explain)
        if args.rpc_prepare:
            result = runner.rpc_prepare()
            target = args.rpc_prepare
        else:
            result = runner.run(args.only.split(",") if args.only else None)
            target = args.out
        cr.rollback()
    if target:
        with open(target, "w", encoding="utf-8") as output:
            json.dump(result, output, indent=1, default=str)
    else:
        json.dump(result, sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main()
