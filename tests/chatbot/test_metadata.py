"""The bot acts only on metadata the portal signed, unaltered and fresh."""

import pytest

from chatbot.metadata import MetadataError, sign, verify

KEY = "a shared test key"


def test_signed_claims_come_back_unchanged() -> None:
    metadata = sign({"client_id": 7, "language": "en"}, KEY, now=1000)
    claims = verify(metadata, KEY, now=1100)
    assert claims["client_id"] == 7
    assert claims["language"] == "en"


def test_a_changed_client_id_is_refused() -> None:
    metadata = sign({"client_id": 7}, KEY, now=1000)
    metadata["enlace"]["client_id"] = 8
    with pytest.raises(MetadataError, match="signature"):
        verify(metadata, KEY, now=1100)


def test_another_key_is_refused() -> None:
    with pytest.raises(MetadataError, match="signature"):
        verify(sign({"client_id": 7}, "another key", now=1000), KEY, now=1100)


def test_expired_metadata_is_refused() -> None:
    with pytest.raises(MetadataError, match="expired"):
        verify(sign({"client_id": 7}, KEY, ttl=60, now=1000), KEY, now=1061)


@pytest.mark.parametrize(
    "metadata", [None, {}, {"enlace": {"client_id": 7}}, {"enlace": "x", "enlace_signature": "y"}]
)
def test_missing_or_malformed_metadata_is_refused(metadata: dict | None) -> None:
    with pytest.raises(MetadataError):
        verify(metadata, KEY)
