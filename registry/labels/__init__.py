"""Labels: issuance, status changes, supersession, and the status lists they point at."""
