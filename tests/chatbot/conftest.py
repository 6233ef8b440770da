"""The Rasa project's model, trained once per content (see chatbot/rasa_setup.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot import rasa_setup


@pytest.fixture(scope="session")
def rasa() -> Path:
    return rasa_setup.rasa_executable()


@pytest.fixture(scope="session")
def rasa_model(rasa: Path) -> Path:
    return rasa_setup.ensure_model()
