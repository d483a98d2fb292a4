"""Server-side SVG charts for the dashboard: no JavaScript, no CDN, readable without colour.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a data table beside it in the
template, so screen readers and text browsers get the same figures.

Laid out for a phone first: the drawing is ``WIDTH`` units wide and never shown narrower than
``WIDTH`` CSS pixels less a little (see ``staff.css``), so ``FONT`` units stay at least 12 px
on screen. Nothing is placed over anything else: legend entries wrap onto new lines by their
estimated width, a column chart labels only as many columns as have room (the others are in
each column's tooltip and the table), and a chart of categories draws one row per category
with its label above its bar.
"""

from __future__ import annotations

import math
import unicodedata

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, PAD, FONT = 320, 8, 13
LINE = FONT + 6  # a line of text
PALETTE = ["#0b5cad", "#e0a020", "#2e8b57", "#b24457", "#6a51a3", "#5b6570"]
PLOT_HEIGHT = 150


def text_width(text: str, size: int = FONT) -> float:
    """An upper estimate of the width of ``text`` (wide East Asian characters count one em,
    the others 0.62 em), enough to keep labels apart without a font at hand."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.62 for c in str(text))


def _legend(keys: list[str], *, top: float) -> tuple[list[str], float]:
    """Legend entries placed left to right, wrapped before one would pass the right edge;
    returns the shapes and the height used."""
    shapes, x, y = [], PAD, top
    for i, key in enumerate(keys):
        if not key:
            continue
        entry = 14 + 4 + text_width(key) + 12
        if x > PAD and x + entry > WIDTH - PAD:
            x, y = PAD, y + LINE
        shapes.append(
            format_html(
                '<rect x="{}" y="{}" width="12" height="12" fill="{}"/>'
                '<text x="{}" y="{}" font-size="{}">{}</text>',
                _n(x),
                _n(y + 2),
                PALETTE[i % len(PALETTE)],
                _n(x + 16),
                _n(y + FONT),
                FONT,
                key,
            )  # fmt: skip
        )
        x += entry
    used = (y - top + LINE) if shapes else 0
    return shapes, used


def bars(*, title: str, items: list[tuple[str, float]]) -> SafeString:
    """One horizontal bar per (label, value), its label above it and its value after it."""
    return rows(title=title, items=[(label, [value]) for label, value in items], keys=[""])


def rows(*, title: str, items: list[tuple[str, list[float]]], keys: list[str]) -> SafeString:
    """Categories as rows of stacked horizontal bars: (label, [value per key])."""
    legend, top = _legend(keys, top=PAD)
    totals = [sum(values) for _, values in items]
    number_room = text_width(_fmt(max(totals, default=0))) + 8
    scale = (WIDTH - 2 * PAD - number_room) / max(max(totals, default=0), 1)
    shapes, y = list(legend), PAD + top
    for (label, values), total in zip(items, totals, strict=True):
        shapes.append(
            format_html(
                '<text x="{}" y="{}" font-size="{}">{}</text>', PAD, _n(y + FONT), FONT, label
            )  # fmt: skip
        )
        y += LINE
        x = PAD
        for k, value in enumerate(values):
            w = value * scale
            shapes.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="14" fill="{}"><title>{}{}: {}</title>'
                    "</rect>",
                    _n(x),
                    _n(y),
                    _n(w),
                    PALETTE[k % len(PALETTE)],
                    label,
                    f" · {keys[k]}" if keys[k] else "",
                    _fmt(value),
                )  # fmt: skip
            )
            x += w
        shapes.append(
            format_html(
                '<text x="{}" y="{}" font-size="{}">{}</text>',
                _n(x + 6),
                _n(y + 12),
                FONT,
                _fmt(total),
            )  # fmt: skip
        )
        y += 14 + 10
    return _svg(title, shapes, height=y + PAD)


def stacked(*, title: str, columns: list[tuple[str, list[float]]], keys: list[str]) -> SafeString:
    """Stacked columns over time: each column is (label, [value per key])."""
    legend, top = _legend(keys, top=PAD)
    maximum = max((sum(values) for _, values in columns), default=0)
    axis_room = max(text_width(_fmt(maximum)), text_width("0")) + 6
    left, plot_top = PAD + axis_room, PAD + top + FONT / 2
    base = plot_top + PLOT_HEIGHT
    scale = PLOT_HEIGHT / maximum if maximum else 0
    step = (WIDTH - PAD - left) / max(len(columns), 1)
    width = max(step * 0.7, 2)
    widest = max((text_width(label) for label, _ in columns), default=0)
    every = max(1, math.ceil((widest + 6) / step))  # label one column in ``every``
    shapes = list(legend)
    for i, (label, values) in enumerate(columns):
        x, y = left + i * step + (step - width) / 2, base
        for k, value in enumerate(values):
            h = value * scale
            y -= h
            shapes.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{}{}: {}</title></rect>",
                    _n(x),
                    _n(y),
                    _n(width),
                    _n(h),
                    PALETTE[k % len(PALETTE)],
                    label,
                    f" · {keys[k]}" if keys[k] else "",
                    _fmt(value),
                )  # fmt: skip
            )
        if (len(columns) - 1 - i) % every == 0:  # the latest column always has its label
            shapes.append(
                format_html(
                    '<text x="{}" y="{}" font-size="{}" text-anchor="middle">{}</text>',
                    _n(min(max(x + width / 2, left + widest / 2), WIDTH - PAD - widest / 2)),
                    _n(base + LINE),
                    FONT,
                    label,
                )  # fmt: skip
            )
    shapes.append(
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#5b6570"/>'
            '<text x="{}" y="{}" font-size="{}" text-anchor="end">{}</text>'
            '<text x="{}" y="{}" font-size="{}" text-anchor="end">0</text>',
            _n(left),
            _n(base),
            WIDTH - PAD,
            _n(base),
            _n(left - 4),
            _n(plot_top + FONT / 2),
            FONT,
            _fmt(maximum),
            _n(left - 4),
            _n(base),
            FONT,
        )  # fmt: skip
    )
    return _svg(title, shapes, height=base + LINE + PAD)


def _svg(title: str, shapes: list[str], *, height: float) -> SafeString:
    return format_html(
        '<svg class="chart" role="img" viewBox="0 0 {} {}" width="100%" '
        'xmlns="http://www.w3.org/2000/svg"><title>{}</title>{}</svg>',
        WIDTH, _n(height), title, mark_safe("".join(shapes)),  # noqa: S308 (escaped above)
    )  # fmt: skip


def _n(value: float) -> str:
    """A coordinate with one decimal (formatted before escaping, which makes it a string)."""
    return f"{value:.1f}"


def _fmt(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
