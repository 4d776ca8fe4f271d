"""The workflows app's API: workflows and versions, node types, secrets."""
