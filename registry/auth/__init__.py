"""API tokens: one role each (operator, certifier of one body, regulator of some schemes)."""
