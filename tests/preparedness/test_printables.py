from __future__ import annotations

import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from django.db import connection

from amparo.preparedness.models import DocumentItem, DocumentKind
from amparo.preparedness.printables import render_card, render_packet
from tests.preparedness.conftest import HOTLINE, fill_plan, make_family

pytestmark = pytest.mark.django_db

CR80_POINTS = (242.65, 153.01)  # 85.6 mm x 53.98 mm


def need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.fail(f"{tool} is not installed; run scripts/install-system-deps.sh")
    return found


def pdf_text(pdf: bytes, tmp_path: Path, page: int | None = None) -> str:
    source = tmp_path / "doc.pdf"
    source.write_bytes(pdf)
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(
        [need("pdftotext"), *pages, str(source), "-"], check=True, capture_output=True, text=True
    ).stdout


def page_sizes(pdf: bytes, tmp_path: Path) -> list[tuple[float, float]]:
    source = tmp_path / "info.pdf"
    source.write_bytes(pdf)
    info = subprocess.run(
        [need("pdfinfo"), "-f", "1", "-l", "99", str(source)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [
        (float(w), float(h))
        for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info)
    ]


def decode_qr(pdf: bytes, tmp_path: Path, page: int) -> list[str]:
    source = tmp_path / "qr.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            need("pdftoppm"),
            "-r",
            "600",
            "-f",
            str(page),
            "-l",
            str(page),
            "-png",
            "-singlefile",
            str(source),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    decoded = subprocess.run(
        [need("zbarimg"), "--raw", "-q", str(tmp_path / "page.png")],
        capture_output=True,
        text=True,
    )
    return decoded.stdout.split()


def first_word_box(pdf: bytes, tmp_path: Path, word: str) -> tuple[float, float]:
    source = tmp_path / "bbox.pdf"
    source.write_bytes(pdf)
    html = subprocess.run(
        [need("pdftotext"), "-f", "1", "-l", "1", "-bbox", str(source), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(rf'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">{word}<', html)
    assert match, f"{word!r} not found on page 1"
    return float(match[1]), float(match[2])


def test_the_card_is_two_cr80_pages_in_spanish_with_english_behind(tmp_path):
    plan = fill_plan(make_family(language="es").plan)
    pdf = render_card(plan, "es")
    sizes = page_sizes(pdf, tmp_path)
    assert len(sizes) == 2
    for width, height in sizes:
        assert width == pytest.approx(CR80_POINTS[0], abs=0.5)
        assert height == pytest.approx(CR80_POINTS[1], abs=0.5)
    front, back = pdf_text(pdf, tmp_path, 1), pdf_text(pdf, tmp_path, 2)
    assert "Conozca sus derechos" in front
    assert "guardar silencio" in front
    assert "Lic. Ana Torres" in front
    assert HOTLINE in front
    assert "Know your rights" in back
    title_start, _end = first_word_box(pdf, tmp_path, "Conozca")
    assert title_start < 12
    assert "warrant signed by a judge" in " ".join(back.split())


def test_the_qr_code_on_the_card_decodes_to_the_hotline(tmp_path):
    plan = make_family(language="es").plan
    pdf = render_card(plan, "es")
    assert decode_qr(pdf, tmp_path, 1) == [f"tel:{HOTLINE}"]


def test_the_arabic_card_reads_right_to_left(tmp_path):
    plan = fill_plan(make_family(language="ar").plan)
    pdf = render_card(plan, "ar")
    front = pdf_text(pdf, tmp_path, 1)
    for word in ("اعرف", "حقوقك", "الصمت", "المساعدة"):
        assert word in front
    assert "Know your rights" in pdf_text(pdf, tmp_path, 2)
    # -bbox lists glyphs in visual order, so the first word of the title comes reversed.
    _start, title_end = first_word_box(pdf, tmp_path, "اعرف"[::-1])
    # The title starts at the right edge of the card, as Arabic text should.
    assert title_end > CR80_POINTS[0] - 12
    assert decode_qr(pdf, tmp_path, 1) == [f"tel:{HOTLINE}"]


def test_an_unreviewed_card_translation_says_so(tmp_path):
    plan = make_family(language="ht").plan
    text = pdf_text(render_card(plan, "ht"), tmp_path, 1)
    assert "Konnen dwa ou" in text
    assert "poko revize" in text
    assert "revize" not in pdf_text(render_card(plan, "es"), tmp_path, 1)


def test_the_packet_leaves_out_immigration_details_unless_the_family_chooses(tmp_path):
    plan = fill_plan(make_family(language="en").plan)
    plan.consulate_phone = "+15550100777"
    plan.save()
    DocumentItem.objects.filter(plan=plan, kind=DocumentKind.VISA).update(
        have=True, where_kept="blue folder under the bed"
    )
    DocumentItem.objects.filter(plan=plan, kind=DocumentKind.BIRTH_CERTIFICATE).update(
        have=True, where_kept="kitchen drawer"
    )
    without = " ".join(pdf_text(render_packet(plan), tmp_path).split())
    assert "Sofía Rivera" in without
    assert "Rosa Rivera" in without
    assert "Lic. Ana Torres" in without
    assert "kitchen drawer" in without
    assert "blue folder" not in without
    assert "+15550100777" not in without

    plan.packet_includes_immigration = True
    plan.save()
    chosen = " ".join(pdf_text(render_packet(plan), tmp_path).split())
    assert "blue folder" in chosen
    assert "+15550100777" in chosen


@pytest.mark.django_db(transaction=True)  # the threads read the plan on connections of their own
def test_cards_rendered_at_once_by_threads_each_say_their_own_language(tmp_path):
    """`amparo serve` runs threads: two families printing at once must each get their own
    card, in their own language (translation and WeasyPrint under threads)."""
    plan = fill_plan(make_family(language="es").plan)
    languages = ("es", "ar", "en")
    expected = {}
    for language in languages:
        (tmp_path / language).mkdir()
        expected[language] = pdf_text(render_card(plan, language), tmp_path / language, 1)
    rendered: list[tuple[str, bytes | BaseException]] = []
    lock = threading.Lock()

    def render(language: str) -> None:
        try:
            for _time in range(2):
                try:
                    pdf: bytes | BaseException = render_card(plan, language)
                except Exception as error:  # reported below
                    pdf = error
                with lock:
                    rendered.append((language, pdf))
        finally:
            connection.close()

    threads = [threading.Thread(target=render, args=(language,)) for language in languages * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(rendered) == 12
    for number, (language, pdf) in enumerate(rendered):
        assert isinstance(pdf, bytes), pdf
        directory = tmp_path / f"run-{number}"
        directory.mkdir()
        assert pdf_text(pdf, directory, 1) == expected[language], language
