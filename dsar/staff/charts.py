"""Server-side SVG charts for the dashboard: no JavaScript, no CDN, readable without colour.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a data table beside it in the
template, so screen readers and text browsers get the same figures.
"""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD = 560, 220, 36
PALETTE = ["#0b5cad", "#e0a020", "#2e8b57", "#b24457", "#6a51a3", "#5b6570"]


def _scale(maximum: float) -> float:
    return (HEIGHT - 2 * PAD) / maximum if maximum else 0


def bars(*, title: str, items: list[tuple[str, float]]) -> SafeString:
    """One bar per (label, value)."""
    return stacked(title=title, columns=[(label, [value]) for label, value in items], keys=[""])


def stacked(*, title: str, columns: list[tuple[str, list[float]]], keys: list[str]) -> SafeString:
    """Stacked columns: each column is (label, [value per key])."""
    maximum = max((sum(values) for _, values in columns), default=0)
    scale = _scale(maximum)
    step = (WIDTH - 2 * PAD) / max(len(columns), 1)
    width = max(step * 0.7, 2)
    shapes = []
    for i, (label, values) in enumerate(columns):
        x = PAD + i * step + (step - width) / 2
        y = HEIGHT - PAD
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
        shapes.append(
            format_html(
                '<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text>',
                _n(x + width / 2),
                HEIGHT - PAD + 14,
                label,
            )  # fmt: skip
        )
    axis = format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#5b6570"/>'
        '<text x="4" y="{}" font-size="10">{}</text><text x="4" y="{}" font-size="10">0</text>',
        PAD, HEIGHT - PAD, WIDTH - PAD, HEIGHT - PAD, PAD + 4, _fmt(maximum), HEIGHT - PAD,
    )  # fmt: skip
    legend = format_html_join(
        "",
        '<rect x="{}" y="6" width="10" height="10" fill="{}"/>'
        '<text x="{}" y="15" font-size="11">{}</text>',
        (
            (PAD + i * 110, PALETTE[i % len(PALETTE)], PAD + i * 110 + 14, key)
            for i, key in enumerate(keys)
            if key
        ),
    )
    return format_html(
        '<svg role="img" viewBox="0 0 {} {}" width="100%" xmlns="http://www.w3.org/2000/svg">'
        "<title>{}</title>{}{}{}</svg>",
        WIDTH, HEIGHT, title, axis, legend, mark_safe("".join(shapes)),  # noqa: S308 (escaped above)
    )  # fmt: skip


def _n(value: float) -> str:
    """A coordinate with one decimal (formatted before escaping, which makes it a string)."""
    return f"{value:.1f}"


def _fmt(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
