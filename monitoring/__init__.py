"""Operability: correlation ids, structured logs, health, metrics and the audit log."""
