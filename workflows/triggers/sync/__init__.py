"""Workflows and schedules kept as files: `DIR/workflows/*.yml` and `DIR/schedules/*.yml`.

`workflows_sync` applies a directory to the database (the `sync_workflows` command, its
`--watch` mode and the `workflows.sync` beat task all call it). Each file is applied on its
own: a file that fails (bad YAML, an invalid definition, a bad schedule) is reported with
its path and line and leaves what it describes untouched, while the other files apply.

Environment overlays: `orders.prod.yml` beside `orders.yml` is merged into it when the
environment is `prod` (mappings merge recursively, `nodes` lists merge by node `id`, other
lists are replaced, a null value removes the key). A file name with a dot before the
extension is always an overlay, never a workflow of its own.
"""

from workflows.triggers.sync.files import deep_merge
from workflows.triggers.sync.report import FileResult, SyncError, SyncReport
from workflows.triggers.sync.service import STATUS_CACHE_KEY, sync_status, workflows_sync

__all__ = [
    "STATUS_CACHE_KEY",
    "FileResult",
    "SyncError",
    "SyncReport",
    "deep_merge",
    "sync_status",
    "workflows_sync",
]
