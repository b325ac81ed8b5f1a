"""Server-rendered SVG charts: funding announced per quarter, and facilities by status.

Pure functions from numbers to SVG markup; no JavaScript, so they show in any browser and
in the screenshot. Every label goes through ``escape`` although today's labels are ours.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from watcher.models import Status
from watcher.rules.render import format_hkd, format_status

_FONT = 'font-family="system-ui, sans-serif" font-size="11"'
_BAR = "#2f6f9f"


def _empty(width: int, height: int, message: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(message)}">'
        f'<text x="{width // 2}" y="{height // 2}" text-anchor="middle" {_FONT} '
        f'fill="#777">{escape(message)}</text></svg>'
    )


def _short_hkd(amount: int) -> str:
    # Axis and bar labels must be short; the table under the chart has exact figures.
    for size, word in ((10**12, "tn"), (10**9, "bn"), (10**6, "m")):
        if amount >= size:
            return f"HK${amount / size:.3g}{word}"
    return format_hkd(amount)


def funding_chart(points: list[tuple[str, int]], width: int = 520, height: int = 240
                  ) -> Markup:
    """Vertical bars, one per quarter, labelled with the HKD announced that quarter."""
    title = "Funding announced, HKD by quarter"
    if not points:
        return _empty(width, height, "No funding announced yet")
    left, right, top, bottom = 12, 12, 28, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(amount for _, amount in points) or 1
    slot = plot_w / len(points)
    bar_w = max(4.0, min(56.0, slot * 0.7))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
        'stroke="#bbb"/>',
    ]
    label_every = max(1, len(points) // 10)  # keep quarter labels from overlapping
    for index, (quarter, amount) in enumerate(points):
        bar_h = plot_h * amount / peak
        x = left + slot * index + (slot - bar_w) / 2
        y = top + plot_h - bar_h
        centre = x + bar_w / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" '
            f'fill="{_BAR}" rx="2"><title>{escape(quarter)}: {escape(format_hkd(amount))}'
            "</title></rect>"
        )
        if amount:
            parts.append(f'<text x="{centre:.1f}" y="{y - 5:.1f}" text-anchor="middle" '
                         f'{_FONT} fill="#333">{escape(_short_hkd(amount))}</text>')
        if index % label_every == 0:
            parts.append(f'<text x="{centre:.1f}" y="{top + plot_h + 16}" '
                         f'text-anchor="middle" {_FONT} fill="#555">{escape(quarter)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def status_chart(counts: dict[str, int], width: int = 420, height: int | None = None
                 ) -> Markup:
    """Horizontal bars: how many facilities stand at each status, in the order a
    facility moves through them (contemplated ... opened, closed)."""
    title = "Facilities by status"
    order = [str(s) for s in Status]
    rows = sorted(((s, n) for s, n in counts.items() if n),
                  key=lambda item: order.index(item[0]) if item[0] in order else len(order))
    row_h, label_w, top = 24, 130, 8
    height = height or top * 2 + row_h * max(1, len(rows))
    if not rows:
        return _empty(width, height, "No facilities known yet")
    peak = max(n for _, n in rows)
    plot_w = width - label_w - 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (status, count) in enumerate(rows):
        y = top + index * row_h
        bar_w = max(2.0, plot_w * count / peak)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" {_FONT} fill="#333">'
            f"{escape(format_status(status))}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{bar_w:.1f}" height="{row_h - 8}" '
            f'fill="{_STATUS_COLOURS.get(status, _BAR)}" rx="2"/>'
            f'<text x="{label_w + bar_w + 6:.1f}" y="{y + 16}" {_FONT} fill="#333">'
            f"{count}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


_STATUS_COLOURS = {
    "contemplated": "#b9c4cf", "planned": "#8fb3d1", "earmarked": "#6f9fc6",
    "launched": "#3f88c5", "under_construction": "#e0a040", "established": "#4caf7d",
    "opened": "#2e8b57", "existing": "#6b8e6b", "closed": "#b05050",
}
