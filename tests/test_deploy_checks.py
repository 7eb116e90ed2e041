"""`amparo check --deploy` is clean in production, and each of our own checks can fail."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from amparo.web.checks import amparo_deploy_checks, compiled_translations_check
from tests.web.compiled_messages import ensure_compiled_messages

REPO = Path(__file__).resolve().parent.parent


def run_deploy_check(data_dir: Path, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AMPARO_", "DJANGO_")) and key not in ("DEBUG", "ALLOWED_HOSTS")
    }
    env.update(
        {
            "DEBUG": "0",
            "AMPARO_HTTPS": "1",
            "AMPARO_SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "amparo.example.org",
            "AMPARO_DATA_DIR": str(data_dir),
        }
    )
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "-m", "amparo.cli", "check", "--deploy"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_every_deploy_check(tmp_path: Path) -> None:
    ensure_compiled_messages()
    result = run_deploy_check(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNING" not in output, output


def test_deploy_check_reports_plain_http(tmp_path: Path) -> None:
    result = run_deploy_check(tmp_path, AMPARO_HTTPS="0")
    output = result.stdout + result.stderr
    assert "security.W012" in output  # session cookie not secure-only
    assert "System check identified no issues" not in output


def without(name: str) -> list[str]:
    return [entry for entry in settings.MIDDLEWARE if not entry.endswith(name)]


CSP_WITHOUT_SCRIPT_SRC = settings.CONTENT_SECURITY_POLICY.replace("script-src 'self'; ", "")
CSP_WITH_INLINE = settings.CONTENT_SECURITY_POLICY.replace(
    "script-src 'self'", "script-src 'self' 'unsafe-inline'"
)

BROKEN_SETTINGS: list[Any] = [
    pytest.param("amparo.E001", {"CONTENT_SECURITY_POLICY": CSP_WITH_INLINE}, id="csp-inline"),
    pytest.param("amparo.E001", {"CONTENT_SECURITY_POLICY": CSP_WITHOUT_SCRIPT_SRC}, id="csp-open"),
    pytest.param(
        "amparo.E002", {"MIDDLEWARE": without("SecurityHeadersMiddleware")}, id="no-headers"
    ),
    pytest.param(
        "amparo.E003",
        {"PASSWORD_HASHERS": ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]},
        id="no-argon2",
    ),
    pytest.param("amparo.E004", {"MIDDLEWARE": without("AccessPolicyMiddleware")}, id="no-policy"),
    pytest.param("amparo.E005", {"SESSION_IDLE_SECONDS": 0}, id="no-idle-timeout"),
    pytest.param(
        "amparo.E005",
        {"SESSION_IDLE_SECONDS": 3600, "SESSION_ABSOLUTE_SECONDS": 600},
        id="idle-beyond-absolute",
    ),
    pytest.param("amparo.E005", {"SESSION_ABSOLUTE_SECONDS": 3 * 86400}, id="three-day-sessions"),
    pytest.param(
        "amparo.E006", {"MIDDLEWARE": without("SessionLifetimeMiddleware")}, id="no-lifetime"
    ),
    pytest.param("amparo.E009", {"SECURE_REFERRER_POLICY": "no-referrer"}, id="origin-null"),
    pytest.param("amparo.E009", {"SECURE_REFERRER_POLICY": "unsafe-url"}, id="referrer-leak"),
]


def test_our_checks_pass_on_the_settings_in_use() -> None:
    assert amparo_deploy_checks() == []


@pytest.mark.parametrize(("check_id", "broken"), BROKEN_SETTINGS)
def test_each_check_fails_when_its_setting_is_wrong(check_id: str, broken: dict[str, Any]) -> None:
    with override_settings(**broken):
        ids = [error.id for error in amparo_deploy_checks()]
    assert ids == [check_id]


def test_missing_translation_catalog_is_reported(tmp_path: Path) -> None:
    check: Callable[[], list[Any]] = compiled_translations_check
    (tmp_path / "es" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "es" / "LC_MESSAGES" / "django.mo").write_bytes(b"")
    with override_settings(LOCALE_PATHS=[tmp_path]):
        errors = check()
    assert [error.id for error in errors] == ["amparo.E008"]
    assert "'ar'" in errors[0].msg


def test_private_files_check_flags_a_readable_data_directory(tmp_path, settings, monkeypatch):
    from amparo.web.checks import private_files_errors

    monkeypatch.delenv("AMPARO_SECRET_KEY", raising=False)
    settings.DATA_DIR = tmp_path
    key = tmp_path / "secret_key"
    key.write_text("k\n")
    tmp_path.chmod(0o700)
    key.chmod(0o600)
    assert private_files_errors() == []
    key.chmod(0o644)
    tmp_path.chmod(0o755)
    flagged = {error.msg.split(" ")[0] for error in private_files_errors()}
    assert flagged == {str(tmp_path), str(key)}
