"""Timing, SQL query counting and memory measurement of one flow.

A flow is a callable taking the environment; it runs inside a savepoint-free transaction
that the caller rolls back afterwards, so every repetition starts from the same data.
Queries are counted with the cursor's own counter (``cr.sql_log_count``, incremented by
``odoo.sql_db.Cursor.execute`` for every statement) and include the final flush.
"""

import re
import statistics
import threading
import time
import tracemalloc
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

MB = 1024 * 1024


@dataclass
class Sample:
    seconds: list = field(default_factory=list)
    queries: list = field(default_factory=list)
    py_peak_mb: float | None = None
    rss_peak_mb: float | None = None

    @property
    def time(self):
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def query_count(self):
        return statistics.median(self.queries) if self.queries else None


def _vm_kb(key):
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak_rss():
    """Reset the kernel's high-water mark of this process (Linux >= 4.0); False if refused."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def run_once(env, flow, prepare=None):
    """(seconds, queries) of one run of flow(env, prepared), rolled back afterwards."""
    cr = env.cr
    try:
        prepared = prepare(env) if prepare else None
        env.flush_all()
        start_queries = cr.sql_log_count
        start = time.perf_counter()
        flow(env, prepared)
        env.flush_all()
        seconds = time.perf_counter() - start
        queries = cr.sql_log_count - start_queries
    finally:
        cr.rollback()
        env.invalidate_all()
    return seconds, queries


def measure(env, flow, prepare=None, repeat=5, *, warmup=1, memory=False, divide=1):
    """Median of `repeat` runs after `warmup` unmeasured ones; with memory, one more run
    under tracemalloc (Python heap peak) that also records the peak RSS growth."""
    sample = Sample()
    for _index in range(warmup):
        run_once(env, flow, prepare)
    for _index in range(repeat):
        seconds, queries = run_once(env, flow, prepare)
        sample.seconds.append(seconds / divide)
        sample.queries.append(queries / divide)
    if memory:
        sample.py_peak_mb, sample.rss_peak_mb = measure_memory(env, flow, prepare)
    return sample


def measure_memory(env, flow, prepare=None):
    """(Python heap peak growth, process peak RSS growth) in MB of one rolled-back run."""
    cr = env.cr
    try:
        prepared = prepare(env) if prepare else None
        env.flush_all()
        rss_before = _vm_kb("VmRSS")
        can_reset = _reset_peak_rss()
        tracemalloc.start()
        tracemalloc.reset_peak()
        heap_before = tracemalloc.get_traced_memory()[0]
        flow(env, prepared)
        env.flush_all()
        heap_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rss_peak = (_vm_kb("VmHWM") - rss_before) / 1024 if can_reset else None
    finally:
        if tracemalloc.is_tracing():
            tracemalloc.stop()
        cr.rollback()
        env.invalidate_all()
    return (heap_peak - heap_before) / MB, rss_peak


_LITERALS = re.compile(r"\b\d+\b|'[^']*'|\(\s*%s(?:\s*,\s*%s)*\s*\)")


@contextmanager
def query_log():
    """Collect the shape of every query run by this thread (numbers and lists folded)."""
    shapes = Counter()

    def hook(_cr, query, _params, _start, _delay):
        text = query.decode() if isinstance(query, bytes) else str(query)
        shapes[_LITERALS.sub("?", " ".join(text.split()))[:160]] += 1

    thread = threading.current_thread()
    hooks = getattr(thread, "query_hooks", ())
    thread.query_hooks = (*hooks, hook)
    try:
        yield shapes
    finally:
        thread.query_hooks = hooks
