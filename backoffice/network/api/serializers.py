"""Output serializers of the network API, and the input fields its endpoints share."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from rest_framework import serializers

from backoffice.access import fields
from backoffice.network.models import Router, Service
from backoffice.network.services.validation import SPEED_RE

_SPEED_ERROR = gettext_lazy('Not a speed: use a number with k, M or G, e.g. "20M".')


def _speed_field(**kwargs: Any) -> serializers.RegexField:
    return fields.RegexField(SPEED_RE, max_length=16, error_messages={"invalid": _SPEED_ERROR}, **kwargs)


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# An IPv4 network as services.validate_pool reads it: an address, optionally /prefix (0-32).
_POOL_PATTERN = rf"^({_OCTET}\.){{3}}{_OCTET}(/(3[0-2]|[12]?[0-9]))?$"
_POOL_ERROR = gettext_lazy("Not an IPv4 network: write it as 10.20.0.0/24.")


def _pool_field(**kwargs: Any) -> fields.RegexField:
    return fields.RegexField(
        _POOL_PATTERN, max_length=43, allow_blank=True, error_messages={"invalid": _POOL_ERROR}, **kwargs
    )


class RouterOutput(serializers.Serializer):
    # The password is write-only: it is never part of any output.
    name = serializers.CharField()
    host = serializers.CharField()
    api_port = serializers.IntegerField()
    api_ssl = serializers.BooleanField()
    username = serializers.CharField()
    has_password = serializers.SerializerMethodField()
    site = serializers.CharField()
    description = serializers.CharField()
    address_pool = serializers.CharField()
    active = serializers.BooleanField()
    last_seen_at = serializers.DateTimeField(allow_null=True)
    is_up = serializers.BooleanField(allow_null=True)
    last_reconciled_at = serializers.DateTimeField(allow_null=True)

    def get_has_password(self, router: Router) -> bool:
        return bool(router.password)


class ServiceOutput(serializers.Serializer):
    # The PPPoE password is write-only too: the clients service hands it to the subscriber.
    subscription_id = serializers.IntegerField()
    client_id = serializers.IntegerField()
    router = serializers.CharField(source="router.name")
    pppoe_username = serializers.CharField()
    address = serializers.CharField()
    plan_code = serializers.CharField()
    speed = serializers.SerializerMethodField()
    status = serializers.CharField()
    suspension_reason = serializers.CharField()
    revision = serializers.IntegerField()
    applied_revision = serializers.IntegerField()
    in_sync = serializers.BooleanField()
    last_result = serializers.SerializerMethodField()
    online = serializers.BooleanField(allow_null=True)
    last_seen_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_speed(self, service: Service) -> dict[str, str]:
        return {"download": service.download, "upload": service.upload}

    def get_last_result(self, service: Service) -> dict[str, Any] | None:
        if not service.last_result:
            return None
        return {
            "status": service.last_result,
            "message": service.last_result_message,
            "at": serializers.DateTimeField().to_representation(service.last_result_at)
            if service.last_result_at
            else None,
        }


class DiagnosisOutput(serializers.Serializer):
    request_id = serializers.CharField()
    subscription_id = serializers.IntegerField(source="service.subscription_id")
    router = serializers.CharField(source="router_name")
    status = serializers.SerializerMethodField()
    requested_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    online = serializers.BooleanField(allow_null=True)
    address = serializers.CharField()
    uptime = serializers.CharField()
    caller_id = serializers.CharField()
    error = serializers.CharField()

    def get_status(self, diagnosis: Any) -> str:
        return "completed" if diagnosis.completed_at else "pending"


class MyServiceOutput(serializers.Serializer):
    subscription_id = serializers.IntegerField()
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    suspension_reason = serializers.CharField()
    suspension_reason_display = serializers.CharField(source="get_suspension_reason_display")
    plan_code = serializers.CharField()
    speed = serializers.SerializerMethodField()
    # Whether the router already applied the latest change (e.g. the reconnection after a payment).
    applied = serializers.BooleanField(source="in_sync")
    online = serializers.BooleanField(allow_null=True)
    last_seen_at = serializers.DateTimeField(allow_null=True)

    def get_speed(self, service: Service) -> dict[str, str]:
        return {"download": service.download, "upload": service.upload}
