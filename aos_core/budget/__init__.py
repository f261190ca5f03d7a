"""Budgets: accounts (a contract's ledger, rate limits and concurrency gate) and estimators."""
