"""Reports of suspect labels: what a reader saw, for the regulators of the label's scheme.

A report holds personal data (a contact, a photo that may show a shop or a person), so it is
never a ledger entry and never published: it is read only by the regulators of the label's
scheme and the registry operator, through the bearer-token API.
"""
