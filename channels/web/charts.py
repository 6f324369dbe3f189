"""Chart geometry for the admin dashboard: numbers only, drawn as inline SVG by
templates/web/_charts.html (no script, no CDN; colours are CSS classes s0, s1, ...)."""

import math
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 10, 26  # room for the value axis and the day labels


@dataclass(frozen=True)
class Frame:
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def plot_width(self):
        return self.width - LEFT - RIGHT

    @property
    def plot_height(self):
        return self.height - TOP - BOTTOM

    @property
    def baseline(self):
        return TOP + self.plot_height


def nice_max(value):
    """The smallest of 1, 2, 5 x 10^n at or above `value` (at least 1): the top of the value axis."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def ticks(top, frame):
    """(y, value) of 0, the middle and the top of the value axis."""
    values = (0, top / 2, top)
    return [(round(frame.baseline - v / top * frame.plot_height, 1), int(v) if float(v).is_integer() else round(v, 1)) for v in values]


def day_labels(days, frame, every=None):
    """(x, "MM-DD") under the bars; with many days only every n-th is labelled."""
    slot = frame.plot_width / max(len(days), 1)
    every = every or max(1, math.ceil(len(days) / 10))
    return [(round(LEFT + slot * (i + 0.5), 1), day[5:]) for i, day in enumerate(days) if i % every == 0 or i == len(days) - 1]


def stacked_bars(days, keys, value, frame=Frame(), top=None):
    """One bar per day, its segments stacked in `keys` order; value(day, key) -> number.

    Returns {"bars": [{"day", "x", "width", "total", "segments": [{"key", "index", "y", "height", "value"}]}],
    "ticks", "labels", "top", "frame"}. `top` fixes the axis (1.0 for shares)."""
    totals = [sum(value(d, k) for k in keys) for d in days]
    top = top if top is not None else nice_max(max(totals, default=0))
    slot = frame.plot_width / max(len(days), 1)
    bar_width = round(max(2.0, slot * 0.7), 1)
    bars = []
    for i, day in enumerate(days):
        x = round(LEFT + slot * i + (slot - bar_width) / 2, 1)
        y = frame.baseline
        segments = []
        for index, key in enumerate(keys):
            v = value(day, key)
            h = v / top * frame.plot_height if top else 0
            y -= h
            if v:
                segments.append({"key": key, "index": index, "y": round(y, 1), "height": round(h, 1), "value": v})
        bars.append({"day": day, "x": x, "width": bar_width, "total": totals[i], "segments": segments})
    return {"bars": bars, "ticks": ticks(top, frame), "labels": day_labels(days, frame), "top": top, "frame": frame}


def lines(days, series, frame=Frame()):
    """One polyline per series over the days; series: [(key, [value per day])].

    Returns {"lines": [{"key", "index", "points": "x,y x,y ...", "dots": [(x, y, value)]}], "ticks", "labels", "top", "frame"}."""
    top = nice_max(max((v for _, values in series for v in values), default=0))
    slot = frame.plot_width / max(len(days), 1)
    out = []
    for index, (key, values) in enumerate(series):
        dots = [(round(LEFT + slot * (i + 0.5), 1), round(frame.baseline - v / top * frame.plot_height, 1), v) for i, v in enumerate(values)]
        out.append({"key": key, "index": index, "points": " ".join(f"{x},{y}" for x, y, _ in dots), "dots": dots})
    return {"lines": out, "ticks": ticks(top, frame), "labels": day_labels(days, frame), "top": top, "frame": frame}


def hbars(items, width=420, row=24, label_width=90):
    """Horizontal bars for (label, value) pairs, longest first as given.

    Returns {"rows": [{"label", "value", "y", "width"}], "height", "x", "width"}."""
    top = max((v for _, v in items), default=0) or 1
    room = width - label_width - 48
    rows = [{"label": label, "value": v, "y": i * row, "width": round(max(1.0, v / top * room), 1)} for i, (label, v) in enumerate(items)]
    return {"rows": rows, "height": max(row, row * len(items)), "x": label_width, "width": width}
