"""Concurrent throughput: Odoo with 4 workers on loopback, XML-RPC clients in threads.

Completes the planned sessions made by `runner.py --rpc-prepare` with
meso.treatment.session.action_done, first sessions prepared beforehand (their vials
reserved, as Odoo's pickings below are), then as many sessions not prepared (Complete
reserves and validates); then validates as many ready Odoo pickings with
stock.picking.button_validate; then runs Odoo's whole outgoing flow for as many
pickings (create, then button_validate, which confirms and reserves): each from the
same number of client threads, bounded in count and time. The four flows alternate in
rounds (ROUNDS), a share of each flow's calls at a time, in reverse order every other
round, so that a drift of the shared machine weighs on all of them alike. Counts, from
the server's log, the completions that waited for another's stock keys. Starts the
server itself and stops it at the end.
"""

import argparse
import json
import queue
import re
import signal
import socket
import subprocess
import threading
import time
import xmlrpc.client

WORKERS = 4
# a completion logs at DEBUG how long it waited for its stock keys
# (stock.warehouse._meso_lock_stock_keys)
LOCK_LOGGER = "odoo.addons.meso_inventory.models.stock_warehouse"
HELD = re.compile(r"stock keys .* held after ([0-9.]+) ms")
# a lock statement this slow waited for another completion: alone it takes well under a
# millisecond, and being descheduled on the shared CPUs costs a few
WAITED_MS = 10
# each side runs in this many alternating rounds, a quarter of its calls in each
ROUNDS = 4


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(args, port):
    command = [
        args.python,
        args.odoo_bin,
        "-c",
        args.config,
        "-d",
        args.database,
        f"--db-filter=^{args.database}$",
        f"--workers={WORKERS}",
        "--max-cron-threads=0",
        f"--http-port={port}",
        "--http-interface=127.0.0.1",
        "--gevent-port=0",
        "--log-level=warn",
        # Odoo logs the requests it retries after a serialization failure at INFO
        "--log-handler=odoo.service.model:INFO",
        f"--log-handler={LOCK_LOGGER}:DEBUG",
        f"--logfile={args.log}",
    ]
    # the server's own output (e.g. its gevent process failing to start) goes to its log
    with open(args.log, "a", encoding="utf-8") as log:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)


def stop_server(server):
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def wait_ready(url, database, deadline):
    while time.monotonic() < deadline:
        try:
            uid = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common").authenticate(
                database, "admin", "admin", {}
            )
            if uid:
                return uid
        except (OSError, xmlrpc.client.Error):
            pass
        time.sleep(0.5)
    raise SystemExit(f"Odoo did not answer on {url} in time (see its log)")


def log_size(path):
    try:
        with open(path, "rb") as log:
            return log.seek(0, 2)
    except FileNotFoundError:
        return 0


def serialization_failures(path, offset):
    """Requests Odoo retried after a serialization failure since `offset` in its log."""
    with open(path, encoding="utf-8", errors="replace") as log:
        log.seek(offset)
        return sum("tries left" in line or "maximum number of tries" in line for line in log)


def lock_waits(path, offset):
    """How long each completion since `offset` in the server's log waited for its stock
    keys, in ms."""
    with open(path, encoding="utf-8", errors="replace") as log:
        log.seek(offset)
        return [float(match[1]) for line in log if (match := HELD.search(line))]


def call_method(model, method, kwargs=None):
    """One unit of work: model.method([id])."""

    def call(proxy, database, uid, record_id):
        proxy.execute_kw(database, uid, "admin", model, method, [[record_id]], kwargs or {})

    return call


def picking_flow(proxy, database, uid, values):
    """Odoo's outgoing flow from a client, as a session's completion does it: create the
    picking, then validate it (button_validate confirms it and reserves FEFO lots)."""
    picking_id = proxy.execute_kw(database, uid, "admin", "stock.picking", "create", [values])
    proxy.execute_kw(
        database,
        uid,
        "admin",
        "stock.picking",
        "button_validate",
        [[picking_id]],
        {"context": {"skip_backorder": True}},
    )


def hammer(url, database, uid, call, *, ids, threads, seconds):
    """Run call(proxy, database, uid, item) for every item from `threads` clients; stop at
    `seconds`."""
    todo = queue.Queue()
    for record_id in ids:
        todo.put(record_id)
    done, errors, latencies = [], [], []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client():
        proxy = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)
        while time.monotonic() < stop_at:
            try:
                record_id = todo.get_nowait()
            except queue.Empty:
                return
            start = time.monotonic()
            try:
                call(proxy, database, uid, record_id)
            except (OSError, xmlrpc.client.Error) as error:
                with lock:
                    # the end of a fault is the exception and its message
                    errors.append(f"{str(record_id)[:80]}: {str(error)[-400:]}")
                continue
            with lock:
                done.append(record_id)
                latencies.append(time.monotonic() - start)

    workers = [threading.Thread(target=client) for _index in range(threads)]
    start = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - start
    return {"done": len(done), "errors": errors, "seconds": elapsed, "latencies": latencies}


def summary(parts, waits):
    """One side's figures over its rounds (see ROUNDS); `waits`: its lock statements'
    times in ms (see lock_waits)."""
    done = sum(part["done"] for part in parts)
    errors = [error for part in parts for error in part["errors"]]
    elapsed = sum(part["seconds"] for part in parts)
    latencies = sorted(latency for part in parts for latency in part["latencies"])
    attempted = done + len(errors)
    return {
        "completed": done,
        "errors": len(errors),
        "error_rate": len(errors) / attempted if attempted else 0.0,
        "seconds": elapsed,
        "per_second": done / elapsed if elapsed else 0.0,
        "median_latency": latencies[len(latencies) // 2] if latencies else None,
        "error_samples": errors[:5],
        "rounds": len(parts),
        "lock_statements": len(waits),
        "lock_waited": sum(wait >= WAITED_MS for wait in waits),
        "lock_wait_seconds": sum(waits) / 1000,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--python", required=True)
    parser.add_argument("--odoo-bin", required=True)
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--ids", required=True, help="JSON written by runner.py --rpc-prepare")
    parser.add_argument("--out", required=True)
    parser.add_argument("--log", required=True, help="the server's log file")
    args = parser.parse_args()
    with open(args.ids, encoding="utf-8") as source:
        prepared = json.load(source)
    threads, seconds = prepared["threads"], prepared["seconds"]

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(args, port)
    try:
        uid = wait_ready(url, args.database, time.monotonic() + 120)
        # every worker loads the registry on its first request: not part of the figures
        hammer(
            url,
            args.database,
            uid,
            call_method("res.users", "read"),
            ids=[uid] * 4 * WORKERS,
            threads=8,
            seconds=60,
        )
        cases = []
        for case in prepared["cases"]:
            figures = {"name": case["name"], "target": case.get("target", "rate")}
            complete = call_method("meso.treatment.session", "action_done")
            sides = (
                # sessions prepared beforehand (their single-dose vials reserved)
                ("ours", complete, case["session_ids"]),
                # sessions as they come to the chair: Complete reserves and validates
                ("ours_chair", complete, case["chair_session_ids"]),
                # what the issue measures: validating pickings prepared beforehand
                (
                    "odoo",
                    call_method(
                        "stock.picking", "button_validate", {"context": {"skip_backorder": True}}
                    ),
                    case["picking_ids"],
                ),
                # the same work as a completion: create, confirm, reserve, validate
                ("odoo_flow", picking_flow, case["flow_values"]),
            )
            parts = {side: [] for side, _call, _items in sides}
            failures = dict.fromkeys(parts, 0)
            waits = {side: [] for side in parts}
            # the sides alternate, a share of each at a time: a drift of the shared
            # machine (autovacuum after the previous side's writes, a checkpoint) weighs
            # on all of them alike
            for index in range(ROUNDS):
                # and in reverse order every other round: no flow always follows the same
                # one (Odoo's whole flow writes the most, and autovacuum comes after it)
                for side, call, items in sides if index % 2 == 0 else sides[::-1]:
                    # consecutive calls, as the plan made them (in the 3-of-24 case,
                    # neighbours take different vials)
                    share = items[len(items) * index // ROUNDS : len(items) * (index + 1) // ROUNDS]
                    logged = log_size(args.log)
                    parts[side].append(
                        hammer(
                            url,
                            args.database,
                            uid,
                            call,
                            ids=share,
                            threads=threads,
                            seconds=seconds / ROUNDS,
                        )
                    )
                    failures[side] += serialization_failures(args.log, logged)
                    waits[side] += lock_waits(args.log, logged)
            for side, rounds in parts.items():
                figures[side] = dict(
                    summary(rounds, waits[side]), serialization_failures=failures[side]
                )
                print(
                    f"[bench] RPC {case['name']}, {side}: {json.dumps(figures[side])}", flush=True
                )
            cases.append(figures)
    finally:
        stop_server(server)
    with open(args.out, "w", encoding="utf-8") as output:
        json.dump(
            {"workers": WORKERS, "threads": threads, "rounds": ROUNDS, "cases": cases},
            output,
            indent=1,
        )


if __name__ == "__main__":
    main()
