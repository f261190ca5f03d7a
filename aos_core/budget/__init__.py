"""Budgets: the reservation ledger, rate limits and the fallback cost estimator."""

from aos_core.budget.estimators import MetadataEstimator
from aos_core.budget.ledger import Ledger, Refusal, Reservation
from aos_core.budget.ratelimit import TokenBucket

__all__ = ["Ledger", "MetadataEstimator", "Refusal", "Reservation", "TokenBucket"]
