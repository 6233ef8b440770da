"""Tables of the clients service (database alias "clients", see backoffice.databases).

A :class:`Client` is a subscriber (person or company); a :class:`Plan` is a service plan whose
prices are kept as dated :class:`PlanPrice` rows, so a price change applies from a date on and
history stays true; a :class:`Subscription` puts a client on a plan on one router. Each
contract version is a :class:`ContractDocument` per language, immutable once written.
Routers are the network service's: they are referred to by name only (``RouterPool``).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ClientKind(models.TextChoices):
    PERSON = "person", _("Person")
    COMPANY = "company", _("Company")


class IdentificationType(models.TextChoices):
    CEDULA = "cedula", _("Cédula")
    RUC = "ruc", _("RUC")
    PASSPORT = "passport", _("Passport")


class ClientStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    RETIRED = "retired", _("Retired")


class Language(models.TextChoices):
    ES = "es", _("Spanish")
    EN = "en", _("English")


class Client(models.Model):
    kind = models.CharField(_("kind"), max_length=8, choices=ClientKind.choices, default=ClientKind.PERSON)
    name = models.CharField(_("name"), max_length=200)
    identification_type = models.CharField(
        _("identification type"), max_length=8, choices=IdentificationType.choices
    )
    # Unique per ISP (one database per ISP), whatever its type.
    identification = models.CharField(_("identification"), max_length=20, unique=True)
    email = models.EmailField(_("e-mail"), blank=True)
    billing_email = models.EmailField(_("billing e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    address = models.CharField(_("installation address"), max_length=300, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices, default=Language.ES)
    status = models.CharField(
        _("status"), max_length=10, choices=ClientStatus.choices, default=ClientStatus.PROSPECT
    )
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        indexes = [
            models.Index(fields=["status"], name="clients_client_status_idx"),
            models.Index(fields=["email"], name="clients_client_email_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.identification})"


class Plan(models.Model):
    """A service plan. Its price fields are the current ones; ``prices`` keeps each of them
    with the date it applies from."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=120)
    download = models.CharField(_("download"), max_length=16)
    upload = models.CharField(_("upload"), max_length=16)
    monthly_price = models.DecimalField(
        _("monthly price (USD, without tax)"), max_digits=10, decimal_places=2
    )
    tax_rate = models.DecimalField(_("tax rate"), max_digits=5, decimal_places=4, default=Decimal("0.15"))
    installation_fee = models.DecimalField(
        _("installation fee (USD)"), max_digits=10, decimal_places=2, default=Decimal("0.00")
    )
    term_months = models.PositiveSmallIntegerField(_("contract term (months)"), default=12)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        ordering = ["monthly_price", "code"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class PlanPrice(models.Model):
    """A plan's price from ``effective_from`` on (until the next row's date)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices")
    monthly_price = models.DecimalField(max_digits=10, decimal_places=2)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4)
    installation_fee = models.DecimalField(max_digits=10, decimal_places=2)
    effective_from = models.DateField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["plan", "-effective_from", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "effective_from"], name="clients_plan_price_once_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}: {self.monthly_price} from {self.effective_from}"


class RouterPool(models.Model):
    """Where subscriptions on a router take their address from when none is given (CIDR).

    The router itself belongs to the network service; this is the clients service's own
    configuration, keyed by the router's name.
    """

    router = models.SlugField(_("router"), max_length=64, unique=True)
    network = models.CharField(_("address pool"), max_length=43)

    class Meta:
        ordering = ["router"]
        verbose_name = _("router address pool")
        verbose_name_plural = _("router address pools")

    def __str__(self) -> str:
        return f"{self.router}: {self.network}"


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CANCELLED = "cancelled", _("Cancelled")


class Subscription(models.Model):
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    router = models.SlugField(_("router"), max_length=64)
    pppoe_username = models.CharField(_("PPPoE user"), max_length=64)
    # Kept in clear: the network service needs it again on a router move. Only admins see it
    # after creation.
    pppoe_password = models.CharField(_("PPPoE password"), max_length=128)
    address = models.GenericIPAddressField(_("address"), protocol="IPv4", null=True, blank=True)
    billing_day = models.PositiveSmallIntegerField(
        _("billing day"), validators=[MinValueValidator(1), MaxValueValidator(28)]
    )
    start_date = models.DateField(_("start date"))
    status = models.CharField(
        _("status"), max_length=10, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE
    )
    end_date = models.DateField(_("end date"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            # A cancelled subscription frees its user name and address on the router.
            models.UniqueConstraint(
                fields=["router", "pppoe_username"],
                condition=Q(status="active"),
                name="clients_subscription_username_per_router",
            ),
            models.UniqueConstraint(
                fields=["router", "address"],
                condition=Q(status="active"),
                name="clients_subscription_address_per_router",
            ),
            models.CheckConstraint(
                condition=Q(billing_day__gte=1, billing_day__lte=28), name="clients_subscription_billing_day"
            ),
        ]
        indexes = [models.Index(fields=["pppoe_username"], name="clients_subscription_user_idx")]

    def __str__(self) -> str:
        return f"subscription {self.id} of client {self.client_id}"


class PlanChange(models.Model):
    """The history of a subscription's plans (a plan change applies from ``effective_date``)."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="plan_changes")
    old_plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    new_plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    effective_date = models.DateField()
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["subscription", "changed_at"]

    def __str__(self) -> str:
        return f"subscription {self.subscription_id}: plan {self.old_plan_id} -> {self.new_plan_id}"


class ContractTemplate(models.Model):
    """What the ISP puts in its contracts: its name, RUC, address, logo and clauses per language.

    The newest active template is used; editing it renders new contract versions, never
    changes an old one.
    """

    isp_name = models.CharField(_("ISP name"), max_length=200)
    isp_ruc = models.CharField(_("ISP RUC"), max_length=13)
    isp_address = models.CharField(_("ISP address"), max_length=300)
    # A data: URI or an https URL WeasyPrint can fetch; empty for none.
    logo_url = models.TextField(_("logo (data: URI or URL)"), blank=True)
    clauses_es = models.TextField(_("clauses (Spanish)"), help_text=_("One clause per paragraph."))
    clauses_en = models.TextField(_("clauses (English)"), help_text=_("One clause per paragraph."))
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("contract template")
        verbose_name_plural = _("contract templates")

    def __str__(self) -> str:
        return f"{self.isp_name} ({self.updated_at:%Y-%m-%d})"


class ContractDocument(models.Model):
    """One language of one version of a subscription's contract, as rendered; never changed."""

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="contracts")
    version = models.PositiveIntegerField()
    language = models.CharField(max_length=2, choices=Language.choices)
    pdf = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    # SHA-256 of what the contract shows (client, plan, price, template...): a new version is
    # rendered only when it changes.
    content_hash = models.CharField(max_length=64)
    rendered_at = models.DateTimeField()

    class Meta:
        ordering = ["subscription", "-version", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "version", "language"], name="clients_contract_version_language"
            )
        ]

    def __str__(self) -> str:
        return f"contract v{self.version} ({self.language}) of subscription {self.subscription_id}"


class ContractAcceptance(models.Model):
    """A subscriber's click-to-accept of one contract document: who, when, from where, which hash."""

    document = models.ForeignKey(ContractDocument, on_delete=models.PROTECT, related_name="acceptances")
    user_subject = models.CharField(max_length=200)
    client_id_seen = models.BigIntegerField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    sha256 = models.CharField(max_length=64)
    accepted_at = models.DateTimeField()

    class Meta:
        ordering = ["-accepted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "user_subject"], name="clients_contract_accepted_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_subject} accepted {self.document} at {self.accepted_at:%Y-%m-%d %H:%M}"
