"""Shared back-office fixtures: personas, identity's signing keys in a temp dir, API clients.

Personas: Alice (subscriber of client 1), Charlie (subscriber of client 2, an outsider to
Alice's data), Bob (agent), Carol (billing), Nora (noc), Ada (admin). Every persona's password
is ``PASSWORD``. ``client_as(user)`` gives a DRF client carrying a fresh access token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import factory
import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

PASSWORD = "correct horse battery staple 42"


class UserFactory(factory.django.DjangoModelFactory):
    """A user with the subscriber role unless told otherwise; password ``PASSWORD``."""

    class Meta:
        model = "identity.User"
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.ec")
    full_name = factory.Faker("name")
    roles = factory.LazyFunction(lambda: ["subscriber"])
    client_id = None
    language = "es"
    password = factory.django.Password(PASSWORD)


@pytest.fixture(scope="session")
def jwt_keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A signing-key directory for the whole run (a first key is created on first use)."""
    return tmp_path_factory.mktemp("jwt-keys")


@pytest.fixture(autouse=True)
def _backoffice_test_settings(settings: Any, jwt_keys_dir: Path) -> None:
    settings.ENLACE_JWT_KEYS_DIR = jwt_keys_dir
    settings.ENLACE_PORTAL_URL = "https://portal.enlace.test"


@pytest.fixture(autouse=True)
def _empty_tokens_cache() -> Iterator[None]:
    """Revocations, refresh families and throttles never leak from one test to the next."""
    caches["tokens"].clear()
    yield
    caches["tokens"].clear()


@pytest.fixture
def user_factory(db: None) -> type[UserFactory]:
    return UserFactory


@pytest.fixture
def alice(db: None) -> Any:
    return UserFactory(email="alice@example.ec", full_name="Alice Andrade", roles=["subscriber"], client_id=1)


@pytest.fixture
def charlie(db: None) -> Any:
    return UserFactory(
        email="charlie@example.ec", full_name="Charlie Cevallos", roles=["subscriber"], client_id=2
    )


@pytest.fixture
def bob(db: None) -> Any:
    return UserFactory(email="bob@enlace.test", full_name="Bob Benítez", roles=["agent"], language="en")


@pytest.fixture
def carol(db: None) -> Any:
    return UserFactory(email="carol@enlace.test", full_name="Carol Castro", roles=["billing"])


@pytest.fixture
def nora(db: None) -> Any:
    return UserFactory(email="nora@enlace.test", full_name="Nora Narváez", roles=["noc"])


@pytest.fixture
def ada(db: None) -> Any:
    return UserFactory(email="ada@enlace.test", full_name="Ada Arias", roles=["admin"], is_staff=True)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def bearer_for() -> Callable[[Any], str]:
    """A fresh access token (a new login family) for a user, without going through HTTP."""
    from backoffice.identity import tokens

    def make(user: Any) -> str:
        return tokens.login_pair(user=user, now=datetime.now(UTC)).access_token

    return make


@pytest.fixture
def client_as(bearer_for: Callable[[Any], str]) -> Callable[[Any], APIClient]:
    """A DRF test client that presents ``user``'s access token."""

    def make(user: Any) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer_for(user)}")
        return client

    return make
