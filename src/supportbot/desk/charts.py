"""Bar charts as SVG geometry computed on the server (the page draws them, no script)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 220
LEFT, BOTTOM, TOP = 44, 34, 10


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    label: str  # what a screen reader and a tooltip say: "2026-11-23 · Ouvertes : 3"


@dataclass(frozen=True)
class Chart:
    ident: str
    title: str
    width: int
    height: int
    bars: tuple[Bar, ...]
    labels: tuple[tuple[float, str], ...]  # (x, text) under each group
    ticks: tuple[tuple[float, str], ...]  # (y, text) on the left axis
    series: tuple[str, ...]
    target: tuple[float, str] | None = None  # (y, text): a line to stay under
    baseline: float = HEIGHT - BOTTOM


def _nice_top(highest: float) -> float:
    """A round value at or above ``highest`` for the top of the axis (1, 2, 2.5 or 5 × 10ⁿ)."""
    if highest <= 0:
        return 1.0
    magnitude = math.pow(10, math.floor(math.log10(highest)))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= highest)


def bar_chart(
    ident: str,
    title: str,
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    target: float | None = None,
    target_label: str = "",
) -> Chart:
    """Grouped bars: one group per label of ``groups``, one bar per series in each."""
    values = [v for _, column in series for v in column if v is not None]
    top = _nice_top(max([*values, target or 0.0], default=0.0))
    plot_width, plot_height = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    slot = plot_width / max(len(groups), 1)
    bar_width = max(2.0, slot * 0.8 / max(len(series), 1))
    bars: list[Bar] = []
    for g, group in enumerate(groups):
        for s, (name, column) in enumerate(series):
            value = column[g]
            if value is None:
                continue
            height = plot_height * value / top
            bars.append(
                Bar(
                    x=round(LEFT + g * slot + slot * 0.1 + s * bar_width, 1),
                    y=round(HEIGHT - BOTTOM - height, 1),
                    width=round(bar_width, 1),
                    height=round(height, 1),
                    series=s,
                    label=f"{group} · {name} : {value:g}",
                )
            )
    every = max(1, len(groups) // 12)  # at most about twelve labels under the axis
    labels = tuple(
        (round(LEFT + g * slot + slot / 2, 1), group)
        for g, group in enumerate(groups)
        if g % every == 0
    )
    ticks = tuple(
        (round(HEIGHT - BOTTOM - plot_height * k / 4, 1), f"{top * k / 4:g}") for k in range(5)
    )
    line = None
    if target is not None:
        line = (round(HEIGHT - BOTTOM - plot_height * target / top, 1), target_label)
    return Chart(
        ident, title, WIDTH, HEIGHT, tuple(bars), labels, ticks, tuple(n for n, _ in series), line
    )
