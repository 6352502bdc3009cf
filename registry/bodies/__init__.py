"""Certification bodies, their accreditations and their signing keys."""
