"""Schemes (carbon-label programmes), their product rules and immutable rule versions."""
