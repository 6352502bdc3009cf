"""Audit: findings over the ledger, for regulators and the operator."""
