"""Workflow definitions: models, versions, validation, node types, secrets and their API."""
