"""Workflow definitions: parsing, normalisation, checksums, validation and diffs.

Pure Python: nothing here needs Django settings or a database.
"""

from __future__ import annotations

from workflows.definitions.diff import definition_diff
from workflows.definitions.normalization import (
    SETTINGS_DEFAULTS,
    definition_checksum,
    definition_normalize,
)
from workflows.definitions.parsing import (
    DefinitionSyntaxError,
    definition_dump,
    definition_load,
)
from workflows.definitions.problems import (
    DefinitionErrorCode,
    Problem,
    Severity,
    ValidationReport,
    edge_label,
)
from workflows.definitions.validation import MAX_NODES, definition_validate, node_validate

__all__ = [
    "MAX_NODES",
    "SETTINGS_DEFAULTS",
    "DefinitionErrorCode",
    "DefinitionSyntaxError",
    "Problem",
    "Severity",
    "ValidationReport",
    "definition_checksum",
    "definition_diff",
    "definition_dump",
    "definition_load",
    "definition_normalize",
    "definition_validate",
    "edge_label",
    "node_validate",
]
