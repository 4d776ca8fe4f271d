"""Writes of the executions app: start an execution, run a node, finish, cancel.

The database is the truth. A node task claims its row with a conditional update, runs the
node outside any transaction, and then, in one transaction under the execution's row
lock, records the completion with its output and log lines, decides which successors are
now ready (the join check), skips what can no longer run, and finishes the execution when
nothing is left. Tasks for the ready nodes are sent only after that commit.
"""

from executions.services.control import execution_pause, execution_resume, execution_retry
from executions.services.flow import execution_cancel
from executions.services.nodes import node_run
from executions.services.start import execution_start

__all__ = [
    "execution_cancel",
    "execution_pause",
    "execution_resume",
    "execution_retry",
    "execution_start",
    "node_run",
]
