"""Key rotation: the newest key signs, older ones stay published until their tokens expire."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from backoffice.access.verifier import TokenVerifier

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_keys_dir(settings: Any, tmp_path: Path) -> None:
    settings.ENLACE_JWT_KEYS_DIR = tmp_path / "keys"


def _jwks() -> dict[str, Any]:
    return dict(APIClient().get("/.well-known/jwks.json").json())


def _verifier(settings: Any) -> TokenVerifier:
    return TokenVerifier(
        jwks=_jwks(), issuer=settings.ENLACE_JWT_ISSUER, audience=settings.ENLACE_JWT_AUDIENCE
    )


def test_the_jwks_publishes_a_first_key_created_on_first_use(settings: Any) -> None:
    keys = _jwks()["keys"]

    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA"
    assert keys[0]["alg"] == "RS256"
    assert "d" not in keys[0]
    assert len(list((settings.ENLACE_JWT_KEYS_DIR).glob("*.pem"))) == 1


def test_after_rotation_old_tokens_verify_and_new_ones_use_the_new_kid(
    settings: Any, alice: Any, bearer_for: Any
) -> None:
    old_token = bearer_for(alice)
    old_kid = jwt.get_unverified_header(old_token)["kid"]

    call_command("rotate_jwt_key")

    new_token = bearer_for(alice)
    new_kid = jwt.get_unverified_header(new_token)["kid"]
    assert new_kid != old_kid
    assert {key["kid"] for key in _jwks()["keys"]} == {old_kid, new_kid}
    verifier = _verifier(settings)
    assert verifier.verify(old_token).user_id == alice.pk
    assert verifier.verify(new_token).user_id == alice.pk


def test_a_retired_key_leaves_the_jwks_once_its_tokens_have_expired(settings: Any) -> None:
    first_kid = _jwks()["keys"][0]["kid"]
    call_command("rotate_jwt_key")

    with time_machine.travel(timezone.now() + timedelta(minutes=12)):
        call_command("rotate_jwt_key")
        kids = {key["kid"] for key in _jwks()["keys"]}

    assert first_kid not in kids
    assert len(kids) == 2
