"""Chart geometry, computed here and drawn as SVG by the `_charts.html` macros: metric
histories as polylines (thinned already by the service) and the promotion timeline as bars."""

import math

from registry.store.tables.base import now_ms
from registry.ui.formatting import number, timestamp

WIDTH, PLOT_LEFT, PLOT_RIGHT = 640, 56, 12
HEIGHT, PLOT_TOP, PLOT_BOTTOM = 220, 12, 28
SERIES_CLASSES = 6  # .s0 ... .s5 in the stylesheet


def line_chart(series: dict[str, list[tuple]], *, x_axis: str = "step") -> dict | None:
    """Polylines for {label: [(step, timestamp, value), ...]} over steps or wall time."""
    column = 0 if x_axis == "step" else 1
    points = [p for values in series.values() for p in values if math.isfinite(p[2])]
    if not points:
        return None
    xs, ys = [p[column] for p in points], [p[2] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    if x0 == x1:
        x0, x1 = x0 - 1, x1 + 1
    if y0 == y1:
        y0, y1 = y0 - 1, y1 + 1
    plot_w = WIDTH - PLOT_LEFT - PLOT_RIGHT
    plot_h = HEIGHT - PLOT_TOP - PLOT_BOTTOM

    def at(x, y):
        return (
            PLOT_LEFT + (x - x0) / (x1 - x0) * plot_w,
            PLOT_TOP + (1 - (y - y0) / (y1 - y0)) * plot_h,
        )

    lines = []
    for index, (label, values) in enumerate(series.items()):
        coords = [at(p[column], p[2]) for p in values if math.isfinite(p[2])]
        lines.append(
            {
                "label": label,
                "cls": f"s{index % SERIES_CLASSES}",
                "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in coords),
                "dot": coords[-1] if len(coords) == 1 else None,
            }
        )
    if x_axis == "step":
        x_label = (lambda v: f"{v:.0f}") if x1 - x0 >= 8 else (lambda v: f"{v:g}")
    else:
        x_label = _time_label(x1 - x0)
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": PLOT_LEFT,
        "right": WIDTH - PLOT_RIGHT,
        "top": PLOT_TOP,
        "bottom": HEIGHT - PLOT_BOTTOM,
        "lines": lines,
        "xticks": [
            {"x": at(x0 + (x1 - x0) * i / 4, y0)[0], "label": x_label(x0 + (x1 - x0) * i / 4)}
            for i in range(5)
        ],
        "yticks": [
            {"y": at(x0, y0 + (y1 - y0) * i / 4)[1], "label": number(y0 + (y1 - y0) * i / 4)}
            for i in range(5)
        ],
        "x_axis": x_axis,
    }


def stage_timeline(events: list[dict], *, now: int | None = None) -> dict | None:
    """Bars of which version held each stage and each alias over time, from the history
    (oldest first, as history.model_history gives it)."""
    now = now or now_ms()
    open_since, segments = {}, []  # (row, version) -> start; [(row, version, start, end)]
    for event in events:
        when, version = event["timestamp"], event["version"]
        if event["kind"] == "stage":
            leaving = (event["from_stage"], version)
            if leaving in open_since:
                segments.append((*leaving, open_since.pop(leaving), when))
            if event["to_stage"] and event["to_stage"] != "None":
                open_since.setdefault((event["to_stage"], version), when)
        else:
            row = "@" + event["alias"]
            if event["from_version"] is not None and (row, event["from_version"]) in open_since:
                start = open_since.pop((row, event["from_version"]))
                segments.append((row, event["from_version"], start, when))
            if event["to_version"] is not None:
                open_since.setdefault((row, event["to_version"]), when)
    segments += [(row, version, start, now) for (row, version), start in open_since.items()]
    if not segments:
        return None
    order = {"Staging": 0, "Production": 1, "Archived": 2}
    rows = sorted({seg[0] for seg in segments}, key=lambda r: (order.get(r, 3), r))
    t0 = min(seg[2] for seg in segments)
    t1 = max(now, t0 + 1)
    plot_w, lane_h = WIDTH - 110 - PLOT_RIGHT, 18
    bars, labels, y = [], [], PLOT_TOP
    for row in rows:
        lanes = []  # the end time of the last bar in each lane
        row_bars = []
        for _row, version, start, end in sorted(s for s in segments if s[0] == row):
            lane = next((i for i, last in enumerate(lanes) if last <= start), len(lanes))
            if lane == len(lanes):
                lanes.append(end)
            lanes[lane] = end
            x = 110 + (start - t0) / (t1 - t0) * plot_w
            w = max((end - start) / (t1 - t0) * plot_w, 2)
            row_bars.append((lane, x, w, version, start, end))
        for lane, x, w, version, start, end in row_bars:
            bars.append(
                {
                    "x": x,
                    "y": y + lane * lane_h,
                    "w": w,
                    "h": lane_h - 3,
                    "label": f"v{version}",
                    "title": f"{row}: v{version} from {timestamp(start)} to "
                    + ("now" if end == now else timestamp(end)),
                    "cls": "alias" if row.startswith("@") else "stage-" + row.lower(),
                }
            )
        height = max(len(lanes), 1) * lane_h
        labels.append({"label": row, "y": y + height / 2})
        y += height + 6
    return {
        "width": WIDTH,
        "height": y + PLOT_BOTTOM,
        "bars": bars,
        "labels": labels,
        "axis_y": y,
        "ticks": [
            {"x": 110 + plot_w * i / 3, "label": _time_label(t1 - t0)(t0 + (t1 - t0) * i / 3)}
            for i in range(4)
        ],
    }


def _time_label(span_ms: float):
    """Tick labels as fine as the span needs: seconds within a day, dates beyond it."""
    if span_ms < 86_400_000:
        return lambda ms: timestamp(ms)[11:19]
    return lambda ms: timestamp(ms)[:16]
