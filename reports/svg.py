"""Small SVG charts for the printed report (WeasyPrint runs no JavaScript).

The same two charts as the page draws with Chart.js, in the same colours.
Every label is escaped: names of provinces and months come from the database
and the translation catalogue.
"""

from django.utils.html import escape
from django.utils.safestring import mark_safe

# Okabe–Ito, as static/js/reports.js.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000"]
FONT = "font-family=\"'Casework Sans', 'Casework Khmer', sans-serif\""


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value``."""
    if value <= 5:
        return 5
    step = 10 ** (len(str(value)) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        top = int(step * factor)
        if top >= value:
            return top
    return value


def _legend(series: list[str], x: float, y: float, width: float) -> list[str]:
    parts, cx, cy = [], x, y
    for index, label in enumerate(series):
        text_width = 8 + len(label) * 5.2
        if cx + text_width + 14 > x + width:
            cx, cy = x, cy + 13
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{cx:.1f}" y="{cy - 7:.1f}" width="9" height="9" fill="{colour}"/>')
        parts.append(
            f'<text x="{cx + 12:.1f}" y="{cy + 1:.1f}" font-size="8" {FONT}>{escape(label)}</text>'
        )
        cx += text_width + 18
    return parts


def line_chart(labels: list[str], series: list[tuple[str, list[int]]], width=520, height=200):
    left, right, top, bottom = 34, 24, 10, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max([v for _name, values in series for v in values] or [0]))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">'
    ]
    for step in range(6):
        value = peak * step / 5
        y = top + plot_h - plot_h * step / 5
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#ddd" stroke-width="0.6"/>'
        )
        parts.append(
            f'<text x="{left - 4}" y="{y + 3:.1f}" font-size="7.5" text-anchor="end" '
            f"{FONT}>{value:g}</text>"
        )
    count = max(len(labels), 1)
    gap = plot_w / max(count - 1, 1)
    every = max(1, round(count / 12))
    for index, label in enumerate(labels):
        if index % every == 0:
            x = left + gap * index if count > 1 else left + plot_w / 2
            parts.append(
                f'<text x="{x:.1f}" y="{top + plot_h + 11:.1f}" font-size="7.5" '
                f'text-anchor="middle" {FONT}>{escape(label)}</text>'
            )
    for index, (_name, values) in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        points = []
        for i, value in enumerate(values):
            x = left + gap * i if count > 1 else left + plot_w / 2
            y = top + plot_h - plot_h * value / peak
            points.append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.8" fill="{colour}"/>')
        parts.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
            f'stroke-width="1.4"/>'
        )
    parts += _legend([name for name, _values in series], left, height - 14, plot_w)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (every label escaped above)


def stacked_bars(labels: list[str], series: list[tuple[str, list[int]]], width=520):
    """Horizontal stacked bars, one per label (province)."""
    left, right, top, bar, gap = 110, 30, 6, 10, 4
    legend_rows = 2
    height = top + len(labels) * (bar + gap) + 22 + legend_rows * 13
    plot_w = width - left - right
    totals = [sum(values[i] for _name, values in series) for i in range(len(labels))]
    peak = _nice_max(max(totals or [0]))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">'
    ]
    for row, label in enumerate(labels):
        y = top + row * (bar + gap)
        parts.append(
            f'<text x="{left - 4}" y="{y + bar - 2:.1f}" font-size="7.5" '
            f'text-anchor="end" {FONT}>{escape(label)}</text>'
        )
        x = left
        for index, (_name, values) in enumerate(series):
            w = plot_w * values[row] / peak
            if w > 0:
                colour = PALETTE[index % len(PALETTE)]
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar}" '
                    f'fill="{colour}"/>'
                )
            x += w
        parts.append(
            f'<text x="{x + 3:.1f}" y="{y + bar - 2:.1f}" font-size="7" {FONT}>{totals[row]}</text>'
        )
    axis_y = top + len(labels) * (bar + gap)
    parts.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{axis_y}" y2="{axis_y}" '
        f'stroke="#999" stroke-width="0.6"/>'
    )
    parts += _legend([name for name, _values in series], left, axis_y + 16, plot_w)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (every label escaped above)


def report_charts(figures: dict) -> dict:
    trend, custody = figures["trend"], figures["custody"]
    return {
        "trend": line_chart(
            [m["label"] for m in trend["months"]],
            [(str(s["label"]), [m[s["key"]] for m in trend["months"]]) for s in trend["series"]],
        ),
        "custody": stacked_bars(
            [row["name"] for row in custody["rows"]],
            [
                (str(s["label"]), [row[s["key"]] for row in custody["rows"]])
                for s in custody["statuses"]
            ],
        ),
    }
