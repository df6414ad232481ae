"""Shared test helpers: repository paths and the optional ../shared/realdata folder."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata"


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"real-data folder {REALDATA} is absent (it lives beside a developer's clone)")
    return REALDATA
