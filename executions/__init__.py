"""Executions: the engine that runs workflow versions on Celery (issue 3)."""
