"""Jinja filters for the UI: times, durations, sizes, numbers."""

import datetime
import math

from flask import Flask


def timestamp(ms) -> str:
    """Milliseconds since the epoch as 'YYYY-MM-DD HH:MM:SS UTC'."""
    if ms in (None, "", 0):
        return "—"
    moment = datetime.datetime.fromtimestamp(int(ms) / 1000, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(ms) -> str:
    """Milliseconds as an ISO 8601 instant, for <time datetime>."""
    if not ms:
        return ""
    return datetime.datetime.fromtimestamp(int(ms) / 1000, datetime.UTC).isoformat()


def duration(start, end) -> str:
    """The time between two millisecond instants, e.g. '1 h 4 min', '12.3 s'."""
    if not start or not end:
        return "—"
    seconds = (int(end) - int(start)) / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def filesize(size) -> str:
    """Bytes in the largest unit that keeps the number at least 1."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def number(value) -> str:
    """A metric value: short, exact enough to compare."""
    if value is None:
        return ""
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.6g}"


def init_app(app: Flask) -> None:
    """Register the filters."""
    app.jinja_env.filters.update(timestamp=timestamp, iso=iso, filesize=filesize, number=number)
    app.jinja_env.globals.update(duration=duration)
