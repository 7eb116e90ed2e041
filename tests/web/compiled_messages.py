"""Compile the project's translations before tests that render them, when stale."""

from __future__ import annotations

import subprocess
from pathlib import Path

from django.conf import settings


def ensure_compiled_messages() -> None:
    """Run msgfmt on every .po under LOCALE_PATHS whose .mo is missing or older."""
    for base in settings.LOCALE_PATHS:
        for catalog in Path(base).glob("*/LC_MESSAGES/*.po"):
            compiled = catalog.with_suffix(".mo")
            if compiled.exists() and compiled.stat().st_mtime >= catalog.stat().st_mtime:
                continue
            subprocess.run(
                ["msgfmt", "--check-format", "-o", str(compiled), str(catalog)], check=True
            )
