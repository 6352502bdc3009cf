"""The carbon-label registry service."""
