"""The executor: one call of one skill, from parameters to `StructuredOutcome`."""
