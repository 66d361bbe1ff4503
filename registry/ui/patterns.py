"""The living style guide (as Datasette's patterns page): every component of the UI on one page,
drawn from sample data through the same macros the real pages use."""

import math

from flask import render_template

from registry.store.tables.base import now_ms
from registry.ui import charts, markdown
from registry.ui.access import page
from registry.ui.blueprint import bp
from registry.ui.forms import Failed

SAMPLE_DESCRIPTION = "A **bold** claim, `code`, a [link](https://example.com) and <b>raw HTML</b>."


@bp.get("/-/patterns")
@page
def patterns():
    now = now_ms()
    hour = 3_600_000
    history = [
        {
            "kind": "stage",
            "version": "1",
            "from_stage": "None",
            "to_stage": "Staging",
            "timestamp": now - 5 * hour,
        },
        {
            "kind": "stage",
            "version": "1",
            "from_stage": "Staging",
            "to_stage": "Production",
            "timestamp": now - 4 * hour,
        },
        {
            "kind": "alias",
            "version": "1",
            "alias": "champion",
            "from_version": None,
            "to_version": "1",
            "timestamp": now - 4 * hour,
        },
        {
            "kind": "stage",
            "version": "2",
            "from_stage": "None",
            "to_stage": "Production",
            "timestamp": now - hour,
        },
        {
            "kind": "stage",
            "version": "1",
            "from_stage": "Production",
            "to_stage": "Archived",
            "timestamp": now - hour,
        },
    ]
    curves = {
        "run-a": [(s, now + s, math.exp(-s / 20)) for s in range(100)],
        "run-b": [(s, now + s, 0.8 * math.exp(-s / 30) + 0.05) for s in range(100)],
    }
    return render_template(
        "patterns.html",
        tags=[{"key": "team", "value": "vision"}, {"key": "<script>", "value": "stays text"}],
        description=markdown.render(SAMPLE_DESCRIPTION),
        sample_description=SAMPLE_DESCRIPTION,
        failed=Failed("set_tag", "Invalid value '' for parameter 'key' supplied.", {"key": ""}),
        line=charts.line_chart(curves),
        timeline=charts.stage_timeline(history, now=now),
        now=now,
    )
