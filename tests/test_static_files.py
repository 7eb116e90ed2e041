"""collectstatic leaves a gzip copy beside each text file, for WhiteNoise and gzip_static."""

from __future__ import annotations

import gzip
from pathlib import Path

from django.core.management import call_command
from django.test import override_settings


def test_collected_static_files_carry_gzip_copies(tmp_path: Path) -> None:
    with override_settings(STATIC_ROOT=str(tmp_path)):
        call_command("collectstatic", interactive=False, verbosity=0)
    for name in ("field/app.js", "field/capture.css", "amparo/amparo.css"):
        original = (tmp_path / name).read_bytes()
        compressed = tmp_path / f"{name}.gz"
        assert compressed.exists(), f"no gzip copy of {name}"
        assert gzip.decompress(compressed.read_bytes()) == original
        assert compressed.stat().st_size < len(original)


def test_every_page_names_its_icon_so_browsers_do_not_ask_for_a_missing_one(client) -> None:
    page = client.get("/hotline/help/").content.decode()
    assert '<link rel="icon" href="/static/amparo/icon.svg" type="image/svg+xml">' in page
    icon = client.get("/static/amparo/icon.svg")
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)
