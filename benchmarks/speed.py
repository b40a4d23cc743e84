"""Latency per question of ``Matcher.match`` against plain ``extractOne`` at growing index sizes."""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process, utils

from bench_data import Pairs
from supportbot.matching import Matcher


@dataclass(frozen=True)
class Latency:
    """Wall-clock mean and p99; ``cpu_p99_ms`` leaves out waits for a busy CPU."""

    mean_ms: float
    p99_ms: float
    cpu_p99_ms: float
    queries: int


@dataclass(frozen=True)
class SpeedRow:
    size: str
    phrasings: int
    labels: int
    build_s: float
    matcher: Latency
    extract_one: Latency


def latency(answer: Callable[[str], object], queries: Sequence[str]) -> Latency:
    """One cold pass: each query is timed once, as a chat would send it."""
    wall: list[float] = []
    cpu: list[float] = []
    gc.collect()
    for query in queries:
        start, start_cpu = time.perf_counter(), time.thread_time()
        answer(query)
        cpu.append(time.thread_time() - start_cpu)
        wall.append(time.perf_counter() - start)
    ms, cpu_ms = np.asarray(wall) * 1000, np.asarray(cpu) * 1000
    p99 = float(np.percentile(ms, 99))
    return Latency(float(ms.mean()), p99, float(np.percentile(cpu_ms, 99)), len(ms))


def variants(pool: Pairs, size: int, seed: int = 0) -> Pairs:
    """``size`` phrasings: a seeded sample of the pool, or the pool repeated with a suffix."""
    if size <= len(pool):
        return random.Random(seed).sample(pool, size)
    out = list(pool)
    copy = 1
    while len(out) < size:
        out.extend((label, f"{text} {copy}") for label, text in pool[: size - len(out)])
        copy += 1
    return out


def speed_row(size: str, pairs: Pairs, queries: Sequence[str], baseline_queries: int) -> SpeedRow:
    """Build the matcher on ``pairs`` and time it and extractOne on the same strings."""
    start = time.perf_counter()
    matcher = Matcher.from_pairs(pairs)
    build_s = time.perf_counter() - start
    choices = [text for _, text in pairs]

    def extract_one(query: str) -> object:
        return process.extractOne(
            query, choices, scorer=fuzz.token_set_ratio, processor=utils.default_process
        )

    return SpeedRow(
        size,
        len(pairs),
        len(matcher.labels),
        build_s,
        latency(matcher.match, queries),
        latency(extract_one, queries[:baseline_queries]),
    )
