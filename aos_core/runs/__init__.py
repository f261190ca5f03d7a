"""Runs: the run engine, the store, the canonical trace and replay."""
