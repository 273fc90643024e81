"""Interleaved timing: arms run in turn (A, B, A, B, ...) so a noisy machine slows them alike, rounds that
other processes disturbed are run again, and comparisons are medians of per-round paired ratios."""

from __future__ import annotations

import gc
import logging
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from tqdm.auto import tqdm

log = logging.getLogger(__name__)


@dataclass
class Timings:
    """Seconds per arm, one per kept round, and how many rounds were discarded for contention."""

    seconds: dict[str, list[float]]
    discarded_rounds: int = 0

    def __getitem__(self, arm: str) -> list[float]:
        return self.seconds[arm]


def interleaved(
    arms: dict[str, Callable[[], object]],
    repeats: int,
    warmup: int = 1,
    max_seconds: float | None = None,
    desc: str = "",
    contention_limit: float | None = 0.05,
    max_retries: int | None = None,
) -> Timings:
    """Time each arm once per round, arms in turn (A, B, A, B, ...); returns seconds per arm, per round.

    A round during which other processes used more than `contention_limit` of the machine's CPUs is
    discarded and run again (at most max_retries times, default `repeats`): on a shared machine a
    neighbour's burst would otherwise land in one arm only. With max_seconds, no new round starts once the timed rounds have taken that
    long (at least one runs). Garbage collection is paused while an arm runs.
    """
    for _ in range(warmup):
        for fn in arms.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in arms}
    retries = repeats if max_retries is None else max_retries
    discarded = 0
    start = time.perf_counter()
    bar = tqdm(total=repeats, desc=desc, leave=False, unit="round")
    while len(next(iter(times.values()))) < repeats:
        round_start, cpu0 = time.perf_counter(), _cpu_seconds()
        sample = {}
        for name, fn in arms.items():
            gc.collect()
            gc.disable()
            try:
                t0 = time.perf_counter()
                fn()
                sample[name] = time.perf_counter() - t0
            finally:
                gc.enable()
        others = _others_share(cpu0, time.perf_counter() - round_start)
        if contention_limit is not None and others > contention_limit and discarded < retries:
            discarded += 1
            log.info("%s: discarded a round, other processes used %.0f%% of the CPUs", desc, 100 * others)
        else:
            for name, seconds in sample.items():
                times[name].append(seconds)
            bar.update(1)
        if max_seconds is not None and time.perf_counter() - start > max_seconds and times[name]:
            break
    bar.close()
    return Timings(times, discarded)


def summary(seconds: list[float]) -> dict:
    """Median, min and max of one arm's samples (seconds), and how many there were."""
    return {"median_s": statistics.median(seconds), "min_s": min(seconds), "max_s": max(seconds), "repeats": len(seconds)}


def paired_ratio(numerator: list[float], denominator: list[float]) -> float:
    """Median over rounds of numerator/denominator: drift that hits both arms of a round cancels."""
    return statistics.median(n / d for n, d in zip(numerator, denominator))


# -- CPU contention -------------------------------------------------------------------------------------
def _cpu_seconds() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, CPU seconds of this process) so far; nan without /proc/stat."""
    own = sum(os.times()[:2])
    try:
        with open("/proc/stat") as f:
            user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK"), own
    except (OSError, ValueError):
        return math.nan, own


def _others_share(start: tuple[float, float], wall: float) -> float:
    """Share of the machine's CPU time that other processes used since `start` (0: the benchmark ran alone)."""
    busy, own = _cpu_seconds()
    return max(0.0, (busy - start[0]) - (own - start[1])) / (wall * (os.cpu_count() or 1))


def _load() -> float:
    """1-minute load average (this process included once it runs); -1 where the OS has none."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return -1.0
