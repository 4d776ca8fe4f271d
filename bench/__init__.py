"""Benchmarks of the platform (see docs/performance.md)."""
