"""Running `amparo-verify` on a bundle as a person would: a separate process, the log's public
key in a file beside it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from amparo.custody.evidence import evidence_store


def run_amparo_verify(bundle: Path, scratch: Path) -> subprocess.CompletedProcess[str]:
    key = scratch / "log.vkey"
    key.write_text(evidence_store().log_vkey + "\n")
    return subprocess.run(
        [sys.executable, "-m", "amparo.evidence.verify_cli", str(bundle), "--key", str(key)],
        capture_output=True,
        text=True,
        check=False,
    )
