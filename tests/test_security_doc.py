"""SECURITY.md names the tests behind each promise; every name must be a real test."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_test_security_md_names_exists():
    text = (ROOT / "SECURITY.md").read_text()
    defined = {
        name
        for path in (ROOT / "tests").rglob("test_*.py")
        for name in re.findall(r"^def (test_\w+)", path.read_text(), re.MULTILINE)
    }
    files = set(re.findall(r"`(tests/[\w/]+\.py)", text))
    for file in files:
        assert (ROOT / file).exists(), file
    named = set(re.findall(r"\b(test_\w+)`", text)) | set(re.findall(r"::(test_\w+)", text))
    assert len(named) >= 25
    missing = sorted(named - defined)
    assert not missing, f"SECURITY.md names tests that do not exist: {missing}"
