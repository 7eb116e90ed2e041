"""Loaded first (pytest -p): a private data directory and plain HTTP, before settings load."""

from __future__ import annotations

import os
import tempfile

# Settings read the data directory at import; give the test run its own.
os.environ.setdefault("AMPARO_DATA_DIR", tempfile.mkdtemp(prefix="amparo-test-"))
os.environ.setdefault("AMPARO_HTTPS", "0")
# The `amparo` command speaks the operator's language (LANGUAGE, LC_ALL, LC_MESSAGES, LANG);
# commands the tests run in a subprocess answer in English whatever this machine's locale.
# tests/ops/test_cli_language.py sets its own.
os.environ["LANGUAGE"] = "en"
