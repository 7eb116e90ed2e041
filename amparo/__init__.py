"""Amparo: a self-hosted platform for community legal-aid networks."""

__version__ = "0.1.0"
