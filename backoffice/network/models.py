"""Tables of the network service (database alias "network", see backoffice.services).

A :class:`Service` is the desired state of one subscription's internet service on one router;
every change to it bumps ``revision`` and is sent to the netagent as a
``network.service.desired`` command, logged as a :class:`ServiceCommand`.
Other services' objects (clients, subscriptions) are referred to by id only.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Router(models.Model):
    """A MikroTik router the netagent manages; ``name`` is the Kafka key and the netagent's id."""

    name = models.SlugField(_("name"), max_length=64, unique=True)
    host = models.CharField(_("host"), max_length=255)
    api_port = models.PositiveIntegerField(_("API port"), default=8728)
    api_ssl = models.BooleanField(_("API over TLS"), default=False)
    username = models.CharField(_("API user"), max_length=100)
    # Sealed (backoffice/network/secrets.py): nothing here logs in with it (the netagent has
    # its own configuration), so a copy of the table must not give it away. Never returned.
    password = models.CharField(_("API password (sealed)"), max_length=512, blank=True)
    site = models.CharField(_("site"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    # Where addresses are allocated from when a subscription comes without one (CIDR).
    address_pool = models.CharField(_("address pool"), max_length=43, blank=True)
    active = models.BooleanField(_("active"), default=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    is_up = models.BooleanField(_("up"), null=True, blank=True)
    last_reconciled_at = models.DateTimeField(_("last reconciled"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("router")
        verbose_name_plural = _("routers")

    def __str__(self) -> str:
        return self.name


class ServiceStatus(models.TextChoices):
    PENDING = "pending", _("Pending installation")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    TERMINATED = "terminated", _("Terminated")


class SuspensionReason(models.TextChoices):
    OVERDUE = "overdue", _("Overdue payment")
    MANUAL = "manual", _("Suspended by staff")
    REQUESTED = "requested", _("Requested by the subscriber")
    ABUSE = "abuse", _("Network abuse")


class ResultStatus(models.TextChoices):
    OK = "ok", _("Applied")
    FAILED = "failed", _("Failed")


class Service(models.Model):
    """The desired internet service of one subscription, and what the router last reported."""

    subscription_id = models.BigIntegerField(_("subscription"), unique=True)
    client_id = models.BigIntegerField(_("client"), db_index=True)
    router = models.ForeignKey(Router, on_delete=models.PROTECT, related_name="services")
    pppoe_username = models.CharField(_("PPPoE user"), max_length=64)
    pppoe_password = models.CharField(_("PPPoE password"), max_length=128)
    address = models.GenericIPAddressField(_("address"), protocol="IPv4")
    plan_code = models.CharField(_("plan"), max_length=64)
    download = models.CharField(_("download"), max_length=16)
    upload = models.CharField(_("upload"), max_length=16)
    status = models.CharField(
        _("status"), max_length=16, choices=ServiceStatus.choices, default=ServiceStatus.PENDING
    )
    suspension_reason = models.CharField(
        _("suspension reason"), max_length=16, choices=SuspensionReason.choices, blank=True
    )
    revision = models.PositiveIntegerField(_("revision"), default=0)
    applied_revision = models.PositiveIntegerField(_("applied revision"), default=0)
    last_result = models.CharField(_("last result"), max_length=8, choices=ResultStatus.choices, blank=True)
    last_result_message = models.TextField(_("last result message"), blank=True)
    last_result_at = models.DateTimeField(_("last result at"), null=True, blank=True)
    online = models.BooleanField(_("online"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last seen online"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["subscription_id"]
        verbose_name = _("internet service")
        verbose_name_plural = _("internet services")
        constraints = [
            # A terminated service frees its user name and address for someone else.
            models.UniqueConstraint(
                fields=["router", "pppoe_username"],
                condition=~Q(status="terminated"),
                name="network_service_username_per_router",
            ),
            models.UniqueConstraint(
                fields=["router", "address"],
                condition=~Q(status="terminated"),
                name="network_service_address_per_router",
            ),
        ]
        indexes = [models.Index(fields=["client_id", "status"], name="network_service_client_idx")]

    def __str__(self) -> str:
        return f"subscription {self.subscription_id} ({self.status})"

    @property
    def in_sync(self) -> bool:
        """Whether the router has confirmed the latest desired state."""
        return self.applied_revision >= self.revision


class CommandKind(models.TextChoices):
    PROVISION = "provision", _("Provision")
    UPDATE = "update", _("Update")
    SUSPEND = "suspend", _("Suspend")
    REACTIVATE = "reactivate", _("Reactivate")
    TERMINATE = "terminate", _("Terminate")


class CommandResult(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPLIED = "applied", _("Applied")
    FAILED = "failed", _("Failed")


class ServiceCommand(models.Model):
    """One ``network.service.desired`` command sent for a service (id = the envelope's id)."""

    command_id = models.UUIDField(unique=True)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="commands")
    revision = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=CommandKind.choices)
    # Snapshot of what was asked (the router may differ from the service's after a move).
    router_name = models.CharField(max_length=64)
    status = models.CharField(max_length=16)
    kick = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    result = models.CharField(max_length=8, choices=CommandResult.choices, default=CommandResult.PENDING)
    result_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-revision", "-id"]
        indexes = [models.Index(fields=["service", "-revision"], name="network_command_service_idx")]

    def __str__(self) -> str:
        return f"{self.kind} r{self.revision} of subscription {self.service_id}"


class Diagnosis(models.Model):
    """A line diagnosis asked of the netagent; completed when its result arrives."""

    request_id = models.UUIDField(unique=True)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="diagnoses")
    router_name = models.CharField(max_length=64)
    requested_by = models.CharField(max_length=200, blank=True)
    requested_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    online = models.BooleanField(null=True, blank=True)
    address = models.CharField(max_length=64, blank=True)
    uptime = models.CharField(max_length=64, blank=True)
    caller_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"diagnosis {self.request_id}"
