"""Write: the engine's statements on node runs, each guarded by the statuses' table.

`node_move` is the one way a node run's status changes through the ORM: the caller's
queryset says which rows (and what they must hold, such as an attempt number), and the
move adds that each row is in a status NODE_TRANSITIONS lets move to the target, so a
move the table does not allow changes nothing. The hot path's compound statements (the
claim and the fenced completion in executions/services/nodes.py) spell the same sources
in SQL.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from executions.models import NODE_TRANSITIONS, NodeExecution, node_sources


def node_move(rows: QuerySet[NodeExecution], to: str, **fields: Any) -> int:
    """Move `rows` that may go to `to` there, setting `fields` with it; how many moved."""
    sources = node_sources(to)
    # every status may go back to pending: no condition to add then
    if len(sources) < len(NODE_TRANSITIONS):
        rows = rows.filter(status__in=sources)
    return rows.update(status=to, **fields)
