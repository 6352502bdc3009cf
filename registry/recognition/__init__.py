"""Mutual recognition: mappings published by the operator or a target scheme's regulator,
ledgered, never edited (a revision supersedes, a withdrawal is a revision); the rules that
apply them live in the kit (``credentials.recognition``)."""
