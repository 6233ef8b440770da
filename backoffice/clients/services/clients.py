"""Writes of the clients service: registering and changing clients."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backoffice.access.errors import DomainError
from backoffice.clients import events
from backoffice.clients.identification import RUC, identification_validate, ruc_kind
from backoffice.clients.models import (
    Client,
    ClientKind,
    ClientStatus,
    SubscriptionStatus,
)
from backoffice.clients.services.common import _CLIENT_FIELDS, DB, _publish, _render_contracts_on_commit

# --- clients ---------------------------------------------------------------------------------------


def _clean_identification(kind: str, identification_type: str, identification: str) -> str:
    try:
        value = identification_validate(kind=identification_type, value=identification)
    except DomainError as exc:
        raise ValidationError({"identification": [exc.message]}) from None
    if kind == ClientKind.COMPANY and (identification_type != RUC or ruc_kind(value) == "person"):
        raise ValidationError(
            {"identification": [_("A company is identified by its company RUC (third digit 6 or 9).")]}
        )
    return value


def _ensure_identification_free(identification: str, *, exclude: Client | None = None) -> None:
    holder = Client.objects.filter(identification=identification)
    if exclude is not None:
        holder = holder.exclude(pk=exclude.pk)
    other = holder.first()
    if other is not None:
        raise ValidationError(
            {
                "identification": [
                    _("This identification already belongs to client %(id)s (%(name)s).")
                    % {"id": other.pk, "name": other.name}
                ]
            },
            code="duplicate",
        )


def _clean_coordinates(latitude: Decimal | None, longitude: Decimal | None) -> None:
    if (latitude is None) != (longitude is None):
        raise ValidationError({"latitude": [_("Give both latitude and longitude, or neither.")]})
    if latitude is not None and not Decimal(-90) <= latitude <= Decimal(90):
        raise ValidationError({"latitude": [_("A latitude is between -90 and 90.")]})
    if longitude is not None and not Decimal(-180) <= longitude <= Decimal(180):
        raise ValidationError({"longitude": [_("A longitude is between -180 and 180.")]})


def client_create(
    *,
    name: str,
    identification_type: str,
    identification: str,
    now: datetime,
    kind: str = ClientKind.PERSON,
    email: str = "",
    billing_email: str = "",
    phone: str = "",
    address: str = "",
    city: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    language: str = "es",
    status: str = ClientStatus.PROSPECT,
    client_id: int | None = None,
) -> Client:
    """Registers a client and publishes ``clients.client.created`` (identity then opens the
    subscriber's account when there is an e-mail). Raises ValidationError per field, naming
    the client that already holds a duplicate identification. ``client_id`` is for demo data.
    """
    identification = _clean_identification(kind, identification_type, identification)
    _clean_coordinates(latitude, longitude)
    if not name.strip():
        raise ValidationError({"name": [_("The client's name cannot be empty.")]})
    with transaction.atomic(using=DB):
        _ensure_identification_free(identification)
        client = Client(
            id=client_id,
            kind=kind,
            name=name.strip(),
            identification_type=identification_type,
            identification=identification,
            email=email.strip().lower(),
            billing_email=billing_email.strip().lower(),
            phone=phone,
            address=address,
            city=city,
            latitude=latitude,
            longitude=longitude,
            language=language,
            status=status,
            created_at=now,
            updated_at=now,
        )
        _save_unique(client)
        _publish(client.pk, events.client_event(client, created=True))
    return client


def client_update(*, client: Client, now: datetime, **changes: Any) -> Client:
    """Changes the given fields and publishes ``clients.client.updated``; the contracts of the
    client's active subscriptions are rendered again if what they show changed. Nothing
    changed → nothing published. Raises ValidationError per field."""
    unknown = set(changes) - set(_CLIENT_FIELDS)
    if unknown:
        raise DomainError(
            _("These client fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    with transaction.atomic(using=DB):
        client = Client.objects.select_for_update().get(pk=client.pk)
        merged = {field: changes.get(field, getattr(client, field)) for field in _CLIENT_FIELDS}
        if {"kind", "identification_type", "identification"} & set(changes):
            merged["identification"] = _clean_identification(
                merged["kind"], merged["identification_type"], merged["identification"]
            )
            _ensure_identification_free(merged["identification"], exclude=client)
        _clean_coordinates(merged["latitude"], merged["longitude"])
        for field in ("email", "billing_email"):
            merged[field] = (merged[field] or "").strip().lower()
        changed = [field for field in _CLIENT_FIELDS if getattr(client, field) != merged[field]]
        if not changed:
            return client
        for field in changed:
            setattr(client, field, merged[field])
        client.updated_at = now
        _save_unique(client)
        _publish(client.pk, events.client_event(client, created=False))
        _render_contracts_on_commit(
            list(client.subscriptions.filter(status=SubscriptionStatus.ACTIVE).values_list("pk", flat=True))
        )
    return client


def _save_unique(client: Client) -> None:
    try:
        with transaction.atomic(using=DB):
            client.save()
    except IntegrityError as exc:
        # Another request registered the same identification between our check and our insert.
        raise ValidationError(
            {"identification": [_("Another client was registered with this identification meanwhile.")]}
        ) from exc
