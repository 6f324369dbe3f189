"""Query latency against corpus size as a hand-written SVG (log-log), so the bench needs no matplotlib."""

import math

WIDTH, HEIGHT = 640, 400
LEFT, RIGHT, TOP, BOTTOM = 70, 180, 30, 50
SERIES = (
    ("ours_p50_ms", "ours p50 (words field)", "#1f77b4", ""),
    ("ours_p99_ms", "ours p99", "#1f77b4", "6 4"),
    ("search_p50_ms", "full search p50 (2 fields)", "#2ca02c", ""),
    ("search_p99_ms", "full search p99", "#2ca02c", "6 4"),
    ("rank_bm25_p50_ms", "rank-bm25 p50", "#d62728", ""),
    ("rank_bm25_p99_ms", "rank-bm25 p99", "#d62728", "6 4"),
)


def latency_svg(sizes):
    """sizes: {passages: result dict of benchmarks.retrieval}."""
    xs = sorted(sizes)
    values = [sizes[x][key] for x in xs for key, *_ in SERIES if key in sizes[x]]
    x_lo, x_hi = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
    y_lo, y_hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    x_hi = max(x_hi, x_lo + 1)
    y_hi = max(y_hi, y_lo + 1)

    def px(x):
        return LEFT + (math.log10(x) - x_lo) / (x_hi - x_lo) * (WIDTH - LEFT - RIGHT)

    def py(y):
        return HEIGHT - BOTTOM - (math.log10(y) - y_lo) / (y_hi - y_lo) * (HEIGHT - TOP - BOTTOM)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="18" font-size="14">Query latency against corpus size (log-log)</text>',
    ]
    for e in range(x_lo, x_hi + 1):
        x = px(10**e)
        out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{10**e:,}</text>')
    for e in range(y_lo, y_hi + 1):
        y = py(10**e)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{10.0**e:g} ms</text>')
    out.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{HEIGHT - 12}" text-anchor="middle">passages</text>')
    target = py(2.0)
    out.append(f'<line x1="{LEFT}" y1="{target:.1f}" x2="{WIDTH - RIGHT}" y2="{target:.1f}" stroke="#999" stroke-dasharray="2 3"/>')
    out.append(f'<text x="{WIDTH - RIGHT - 4}" y="{target - 4:.1f}" text-anchor="end" fill="#666">2 ms target (p99)</text>')
    legend_y = TOP + 10
    for key, label, colour, dash in SERIES:
        points = [(px(x), py(sizes[x][key])) for x in xs if key in sizes[x]]
        if not points:
            continue
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr}/>')
        out.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points)
        lx = WIDTH - RIGHT + 12
        out.append(f'<line x1="{lx}" y1="{legend_y}" x2="{lx + 24}" y2="{legend_y}" stroke="{colour}" stroke-width="2"{dash_attr}/>')
        out.append(f'<text x="{lx + 30}" y="{legend_y + 4}">{label}</text>')
        legend_y += 20
    out.append("</svg>")
    return "\n".join(out) + "\n"
