"""Verifier kit for carbon-label credentials: pure Python, no Flask, no database, no network."""
