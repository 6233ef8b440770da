"""Output serializers of the clients API, and the input fields its endpoints share."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from backoffice.access import fields
from backoffice.clients import services
from backoffice.clients.models import (
    ClientKind,
    ClientStatus,
    ContractDocument,
    IdentificationType,
    Language,
    Subscription,
    SubscriptionStatus,
)

_SPEED_MESSAGES: dict[str, str | Any] = {
    "invalid": gettext_lazy('Not a speed: use a number with k, M or G, e.g. "20M".')
}
# What the services accept, as patterns the schema states: latitude -90..90, longitude -180..180
# (six decimals) and a PPPoE user name.
_LATITUDE = r"^-?(?:(?:[0-9]|[1-8][0-9])(?:\.\d{1,6})?|90(?:\.0{1,6})?)$"
_LONGITUDE = r"^-?(?:(?:[0-9]|[1-9][0-9]|1[0-7][0-9])(?:\.\d{1,6})?|180(?:\.0{1,6})?)$"
_PPPOE_USERNAME = r"^[A-Za-z0-9._@-]{3,64}$"


def _speed(**kwargs: Any) -> fields.RegexField:
    return fields.RegexField(services.SPEED_RE, max_length=16, error_messages=_SPEED_MESSAGES, **kwargs)


def _coordinate(pattern: str, example: str) -> fields.DecimalField:
    return fields.DecimalField(
        pattern=pattern,
        example=example,
        max_digits=9,
        decimal_places=6,
        required=False,
        allow_null=True,
        default=None,
    )


class ClientOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    name = serializers.CharField()
    identification_type = serializers.CharField()
    identification = serializers.CharField()
    email = serializers.CharField()
    billing_email = serializers.CharField()
    phone = serializers.CharField()
    address = serializers.CharField()
    city = serializers.CharField()
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    language = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class _ClientFields(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ClientKind.choices, default=ClientKind.PERSON)
    name = fields.CharField(max_length=200)
    identification_type = serializers.ChoiceField(choices=IdentificationType.choices)
    identification = fields.CharField(max_length=20)
    email = serializers.EmailField(required=False, default="", allow_blank=True)
    billing_email = serializers.EmailField(required=False, default="", allow_blank=True)
    phone = fields.CharField(max_length=32, required=False, default="", allow_blank=True)
    address = fields.CharField(max_length=300, required=False, default="", allow_blank=True)
    city = fields.CharField(max_length=100, required=False, default="", allow_blank=True)
    latitude = _coordinate(_LATITUDE, "-0.180653")
    longitude = _coordinate(_LONGITUDE, "-78.467834")
    language = serializers.ChoiceField(choices=Language.choices, default=Language.ES)
    status = serializers.ChoiceField(choices=ClientStatus.choices, default=ClientStatus.PROSPECT)


class PlanOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    download = serializers.CharField()
    upload = serializers.CharField()
    monthly_price = serializers.DecimalField(max_digits=10, decimal_places=2, help_text="USD, without tax.")
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=4, help_text="0.15 is 15 %.")
    price_with_tax = serializers.SerializerMethodField()
    installation_fee = serializers.DecimalField(max_digits=10, decimal_places=2)
    term_months = serializers.IntegerField()
    active = serializers.BooleanField()

    def get_price_with_tax(self, plan: Any) -> str:
        return str((plan.monthly_price * (1 + plan.tax_rate)).quantize(services.CENT))


class SubscriptionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    client_id = serializers.IntegerField()
    plan = PlanOutput()
    router = serializers.CharField()
    pppoe_username = serializers.CharField()
    pppoe_password = serializers.SerializerMethodField(
        help_text="Only in the creation response and for admins; null otherwise."
    )
    address = serializers.CharField(allow_null=True)
    billing_day = serializers.IntegerField()
    next_billing_date = serializers.SerializerMethodField()
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_pppoe_password(self, subscription: Subscription) -> str | None:
        return subscription.pppoe_password if self.context.get("show_password") else None

    def get_next_billing_date(self, subscription: Subscription) -> str | None:
        if subscription.status != SubscriptionStatus.ACTIVE:
            return None
        today = timezone.localdate()
        return services.next_billing_date(
            subscription.billing_day, max(today, subscription.start_date)
        ).isoformat()


class AcceptanceOutput(serializers.Serializer):
    user = serializers.CharField(source="user_subject")
    accepted_at = serializers.DateTimeField()
    ip = serializers.CharField(allow_null=True)
    sha256 = serializers.CharField()


class ContractOutput(serializers.Serializer):
    version = serializers.IntegerField()
    language = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    rendered_at = serializers.DateTimeField()
    current = serializers.SerializerMethodField()
    acceptances = AcceptanceOutput(many=True)

    def get_current(self, document: ContractDocument) -> bool:
        return document.version == self.context.get("latest")
