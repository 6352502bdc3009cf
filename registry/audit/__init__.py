"""Audit for regulators and the operator: what was issued and changed under a scheme, each
body's accreditations and keys next to what it issued, a label's ledger history, findings over
the ledger, and the register's health."""
