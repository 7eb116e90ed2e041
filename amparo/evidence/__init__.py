"""Amparo's evidence core: pure Python, no Django; a verifier can install it on its own."""
