"""Small SVG charts for the printed report (WeasyPrint runs no JavaScript).

The same two charts as the page draws with Chart.js, in the same colours.

No words inside the SVG: WeasyPrint draws SVG text glyph by glyph, without the
shaping Khmer needs (vowel signs and subscript consonants come out detached).
The SVG holds shapes and digits only: months are written as numbers
(2026-03), and province names and legends are HTML around the drawing
(templates/reports/report_pdf.html), which WeasyPrint shapes like any text.
"""

from django.utils.safestring import mark_safe

# Okabe–Ito, as static/js/reports.js; the PDF's .swatch-N classes use the same order.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000"]
DIGITS = 'font-family="Casework Sans, sans-serif"'


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value``, in five even steps."""
    if value <= 5:
        return 5
    step = 10 ** (len(str(value)) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        top = int(step * factor)
        if top >= value:
            return top
    return value


def _svg(width: float, height: float, parts: list[str]):
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">'
    )
    # Only numbers and fixed markup go in: nothing from the database or the catalogue.
    return mark_safe(head + "".join(parts) + "</svg>")  # noqa: S308


def line_chart(months: list, series: list[list[int]], width=520, height=170):
    """One line per series over the months (``datetime.date`` of each month's first day)."""
    left, right, top, bottom = 30, 20, 8, 20
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max([v for values in series for v in values] or [0]))
    parts = []
    for step in range(6):
        y = top + plot_h - plot_h * step / 5
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#ddd" stroke-width="0.6"/>'
        )
        parts.append(
            f'<text x="{left - 4}" y="{y + 3:.1f}" font-size="7.5" text-anchor="end" '
            f"{DIGITS}>{peak * step / 5:g}</text>"
        )
    count = max(len(months), 1)
    gap = plot_w / max(count - 1, 1)
    every = max(1, round(count / 12))

    def x_of(index: int) -> float:
        return left + gap * index if count > 1 else left + plot_w / 2

    for index, month in enumerate(months):
        if index % every == 0:
            parts.append(
                f'<text x="{x_of(index):.1f}" y="{top + plot_h + 11:.1f}" font-size="7" '
                f'text-anchor="middle" {DIGITS}>{month:%Y-%m}</text>'
            )
    for number, values in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        points = []
        for index, value in enumerate(values):
            x, y = x_of(index), top + plot_h - plot_h * value / peak
            points.append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.8" fill="{colour}"/>')
        parts.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
            f'stroke-width="1.4"/>'
        )
    return _svg(width, height, parts)


def stacked_bar(values: list[int], peak: int, width=300, height=11):
    """One row's bar: a segment per series, then the row's total."""
    plot_w = width - 30
    parts, x = [], 0.0
    for number, value in enumerate(values):
        w = plot_w * value / peak if peak else 0
        if w > 0:
            colour = PALETTE[number % len(PALETTE)]
            parts.append(
                f'<rect x="{x:.1f}" y="1" width="{w:.1f}" height="{height - 2}" fill="{colour}"/>'
            )
        x += w
    parts.append(
        f'<text x="{x + 3:.1f}" y="{height - 2}" font-size="7.5" {DIGITS}>{sum(values)}</text>'
    )
    return _svg(width, height, parts)


def report_charts(figures: dict) -> dict:
    trend, custody = figures["trend"], figures["custody"]
    rows = custody["rows"]
    peak = _nice_max(max([sum(row["values"]) for row in rows] or [0]))
    return {
        "trend": line_chart(
            [m["month"] for m in trend["months"]],
            [[m[s["key"]] for m in trend["months"]] for s in trend["series"]],
        ),
        "trend_legend": [str(s["label"]) for s in trend["series"]],
        "custody": [(row["name"], stacked_bar(row["values"], peak)) for row in rows],
        "custody_legend": [str(s["label"]) for s in custody["statuses"]],
    }
