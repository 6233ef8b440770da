"""HTTP API of the clients service, mounted at /api/clients/v1/.

Writes: roles billing and admin, or services holding ``clients.write``. Reads: those and the
roles agent and noc, or ``clients.read``. A subscriber reads only their own client,
subscriptions and contracts (another's are 404) and accepts their own contract. Each endpoint
parses its input, makes one domain call and shapes the output.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access import fields
from backoffice.access.client_ip import client_ip
from backoffice.access.drf import HasAnyRole, HasScope, principal_of
from backoffice.access.errors import Forbidden
from backoffice.access.openapi import PAGE_PARAMETER, error_responses, paginated
from backoffice.clients import selectors, services
from backoffice.clients.models import (
    ClientKind,
    ClientStatus,
    ContractDocument,
    IdentificationType,
    Language,
    Subscription,
    SubscriptionStatus,
)

READ_ROLES = ("agent", "noc", "billing", "admin")
WRITE_ROLES = ("billing", "admin")
CanRead = HasAnyRole(*READ_ROLES) | HasScope("clients.read")
CanWrite = HasAnyRole(*WRITE_ROLES) | HasScope("clients.write")
# Endpoints a subscriber reaches too, narrowed to their own client.
CanReadOwn = CanRead | HasAnyRole("subscriber")

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


def _only_client_id(request: Request) -> int | None:
    """None for staff and services (every client); the subscriber's own client otherwise."""
    principal = principal_of(request)
    if principal.is_service or (principal.has_any_role(*READ_ROLES) and not principal.is_delegated):
        return None
    if principal.client_id is None:
        raise Forbidden(
            str(gettext_lazy("Only subscribers have their own client record.")), code="not_a_subscriber"
        )
    return principal.client_id


# --- shapes shared by the OpenAPI document ---------------------------------------------------------------


def _paginated(
    request: Request, view: APIView, items: Any, serializer: type[serializers.Serializer], **context: Any
) -> Response:
    paginator = PageNumberPagination()
    page: Any = paginator.paginate_queryset(items, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True, context=context).data)


class _ReadWriteApi(APIView):
    """Reads need CanRead (or a subscriber's own record, see ``read_permission``), writes CanWrite."""

    read_permission: Any = CanRead

    def get_permissions(self) -> list[Any]:
        wanted = self.read_permission if self.request.method in ("GET", "HEAD", "OPTIONS") else CanWrite
        return [wanted()]


# --- clients -------------------------------------------------------------------------------------------


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


class ClientListCreateApi(_ReadWriteApi):
    read_permission = CanReadOwn

    class FilterSerializer(serializers.Serializer):
        q = serializers.CharField(required=False, help_text="Name, identification, e-mail or PPPoE user.")
        status = serializers.ChoiceField(choices=ClientStatus.choices, required=False)
        kind = serializers.ChoiceField(choices=ClientKind.choices, required=False)
        identification_type = serializers.ChoiceField(choices=IdentificationType.choices, required=False)
        city = serializers.CharField(required=False)

    class InputSerializer(_ClientFields):
        pass

    @extend_schema(
        operation_id="clients_list",
        parameters=[FilterSerializer, PAGE_PARAMETER],
        responses={200: paginated(ClientOutput)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        clients = selectors.client_list(**filters.validated_data, only_client_id=_only_client_id(request))
        return _paginated(request, self, clients, ClientOutput)

    @extend_schema(request=InputSerializer, responses={201: ClientOutput})
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        client = services.client_create(**body.validated_data, now=timezone.now())
        return Response(ClientOutput(client).data, status=status.HTTP_201_CREATED)


class ClientDetailApi(_ReadWriteApi):
    read_permission = CanReadOwn

    class InputSerializer(_ClientFields):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, partial=True, **kwargs)

    @extend_schema(responses={200: ClientOutput})
    def get(self, request: Request, client_id: int) -> Response:
        client = selectors.client_get(client_id=client_id, only_client_id=_only_client_id(request))
        return Response(ClientOutput(client).data)

    @extend_schema(request=InputSerializer, responses={200: ClientOutput})
    def patch(self, request: Request, client_id: int) -> Response:
        client = selectors.client_get(client_id=client_id)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        client = services.client_update(client=client, **body.validated_data, now=timezone.now())
        return Response(ClientOutput(client).data)


# --- plans ----------------------------------------------------------------------------------------------


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


class PlanListCreateApi(_ReadWriteApi):
    # Every signed-in user may see the plans on offer (a subscriber compares them).
    read_permission = CanReadOwn

    class FilterSerializer(serializers.Serializer):
        active = serializers.BooleanField(required=False)

    class InputSerializer(serializers.Serializer):
        code = fields.SlugField(max_length=64)
        name = fields.CharField(max_length=120)
        download = _speed()
        upload = _speed()
        monthly_price = fields.money(max_digits=10)
        tax_rate = fields.rate(default=Decimal("0.15"))
        installation_fee = fields.money(max_digits=10, default=Decimal("0.00"))
        term_months = fields.IntegerField(min_value=0, max_value=120, default=12)
        active = fields.BooleanField(default=True)

    @extend_schema(
        operation_id="plans_list",
        parameters=[FilterSerializer, PAGE_PARAMETER],
        responses={200: paginated(PlanOutput)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        plans = selectors.plan_list(active=filters.validated_data.get("active"))
        return _paginated(request, self, plans, PlanOutput)

    @extend_schema(request=InputSerializer, responses={201: PlanOutput})
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plan = services.plan_create(**body.validated_data, now=timezone.now())
        return Response(PlanOutput(plan).data, status=status.HTTP_201_CREATED)


class PlanDetailApi(_ReadWriteApi):
    read_permission = CanReadOwn

    class InputSerializer(serializers.Serializer):
        name = fields.CharField(max_length=120, required=False)
        download = _speed(required=False)
        upload = _speed(required=False)
        monthly_price = fields.money(max_digits=10, required=False)
        tax_rate = fields.rate(required=False)
        installation_fee = fields.money(max_digits=10, required=False)
        term_months = fields.IntegerField(min_value=0, max_value=120, required=False)
        active = fields.BooleanField(required=False)
        price_effective_from = serializers.DateField(
            required=False,
            help_text="From when a new price applies (default today); each subscription "
            "gets it from its first billing date on or after that day.",
        )

    @extend_schema(responses={200: PlanOutput})
    def get(self, request: Request, code: str) -> Response:
        return Response(PlanOutput(selectors.plan_get(code=code)).data)

    @extend_schema(request=InputSerializer, responses={200: PlanOutput})
    def patch(self, request: Request, code: str) -> Response:
        plan = selectors.plan_get(code=code)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plan = services.plan_update(plan=plan, **body.validated_data, now=timezone.now())
        return Response(PlanOutput(plan).data)


# --- subscriptions ----------------------------------------------------------------------------------------


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


def _is_admin(request: Request) -> bool:
    principal = principal_of(request)
    return principal.has_any_role("admin") and not principal.is_delegated


class SubscriptionListCreateApi(_ReadWriteApi):
    read_permission = CanReadOwn

    class FilterSerializer(serializers.Serializer):
        client_id = serializers.IntegerField(required=False)
        router = serializers.SlugField(required=False)
        status = serializers.ChoiceField(choices=SubscriptionStatus.choices, required=False)
        plan = serializers.SlugField(required=False)
        pppoe_username = serializers.CharField(required=False)

    class InputSerializer(serializers.Serializer):
        client_id = fields.IntegerField(min_value=1)
        plan = fields.SlugField(max_length=64)
        router = fields.SlugField(max_length=64)
        billing_day = fields.IntegerField(min_value=1, max_value=28)
        start_date = serializers.DateField()
        address = serializers.IPAddressField(protocol="IPv4", required=False, allow_null=True, default=None)
        pppoe_username = fields.RegexField(
            _PPPOE_USERNAME, max_length=64, required=False, allow_null=True, default=None
        )

    @extend_schema(
        operation_id="subscriptions_list",
        parameters=[FilterSerializer, PAGE_PARAMETER],
        responses={200: paginated(SubscriptionOutput)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        only = _only_client_id(request)
        if only is not None:
            data["client_id"] = only if data.get("client_id") in (None, only) else -1
        return _paginated(
            request,
            self,
            selectors.subscription_list(**data),
            SubscriptionOutput,
            show_password=_is_admin(request),
        )

    @extend_schema(request=InputSerializer, responses={201: SubscriptionOutput, **error_responses(409)})
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        client = _named(lambda: selectors.client_get(client_id=data.pop("client_id")), "client_id")
        plan = _named(lambda: selectors.plan_get(code=data.pop("plan")), "plan")
        subscription = services.subscription_create(client=client, plan=plan, **data, now=timezone.now())
        # The one time the PPPoE password is shown to anyone but an admin.
        return Response(
            SubscriptionOutput(subscription, context={"show_password": True}).data,
            status=status.HTTP_201_CREATED,
        )


def _named(load: Any, field: str) -> Any:
    """What the request body names; an unknown one is a 400 on that field (the URL was fine)."""
    from backoffice.access.errors import NotFound

    try:
        return load()
    except NotFound as exc:
        raise serializers.ValidationError({field: [exc.message]}) from None


class SubscriptionDetailApi(APIView):
    permission_classes = [CanReadOwn]

    @extend_schema(responses={200: SubscriptionOutput})
    def get(self, request: Request, subscription_id: int) -> Response:
        subscription = selectors.subscription_get(
            subscription_id=subscription_id, only_client_id=_only_client_id(request)
        )
        return Response(SubscriptionOutput(subscription, context={"show_password": _is_admin(request)}).data)


class SubscriptionChangePlanApi(APIView):
    permission_classes = [CanWrite]

    class InputSerializer(serializers.Serializer):
        plan = fields.SlugField(max_length=64)
        effective_date = serializers.DateField(required=False, allow_null=True, default=None)

    @extend_schema(request=InputSerializer, responses={200: SubscriptionOutput, **error_responses(409)})
    def post(self, request: Request, subscription_id: int) -> Response:
        subscription = selectors.subscription_get(subscription_id=subscription_id)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plan = _named(lambda: selectors.plan_get(code=body.validated_data["plan"]), "plan")
        subscription = services.subscription_change_plan(
            subscription=subscription,
            plan=plan,
            effective_date=body.validated_data["effective_date"],
            now=timezone.now(),
        )
        return Response(SubscriptionOutput(subscription).data)


class SubscriptionMoveApi(APIView):
    permission_classes = [CanWrite]

    class InputSerializer(serializers.Serializer):
        router = fields.SlugField(max_length=64)
        address = serializers.IPAddressField(protocol="IPv4", required=False, allow_null=True, default=None)

    @extend_schema(request=InputSerializer, responses={200: SubscriptionOutput, **error_responses(409)})
    def post(self, request: Request, subscription_id: int) -> Response:
        subscription = selectors.subscription_get(subscription_id=subscription_id)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscription = services.subscription_move(
            subscription=subscription, **body.validated_data, now=timezone.now()
        )
        return Response(SubscriptionOutput(subscription).data)


class SubscriptionCancelApi(APIView):
    permission_classes = [CanWrite]

    class InputSerializer(serializers.Serializer):
        effective_date = serializers.DateField(required=False, allow_null=True, default=None)

    @extend_schema(request=InputSerializer, responses={200: SubscriptionOutput, **error_responses(409)})
    def post(self, request: Request, subscription_id: int) -> Response:
        subscription = selectors.subscription_get(subscription_id=subscription_id)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscription = services.subscription_cancel(
            subscription=subscription, **body.validated_data, now=timezone.now()
        )
        return Response(SubscriptionOutput(subscription).data)


# --- contracts -----------------------------------------------------------------------------------------


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


class ContractListApi(APIView):
    permission_classes = [CanReadOwn]

    @extend_schema(
        operation_id="contracts_list", parameters=[PAGE_PARAMETER], responses={200: paginated(ContractOutput)}
    )
    def get(self, request: Request, subscription_id: int) -> Response:
        subscription = selectors.subscription_get(
            subscription_id=subscription_id, only_client_id=_only_client_id(request)
        )
        documents = selectors.contract_list(subscription=subscription)
        latest = documents.values_list("version", flat=True).first()
        return _paginated(request, self, documents, ContractOutput, latest=latest)


class ContractPdfApi(APIView):
    permission_classes = [CanReadOwn]

    @extend_schema(operation_id="contracts_pdf", responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request: Request, subscription_id: int, version: int, language: str) -> HttpResponse:
        subscription = selectors.subscription_get(
            subscription_id=subscription_id, only_client_id=_only_client_id(request)
        )
        document = selectors.contract_get(subscription=subscription, version=version, language=language)
        response = HttpResponse(bytes(document.pdf), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="contrato-{subscription.pk}-v{version}-{language}.pdf"'
        )
        response["X-Content-SHA256"] = document.sha256
        return response


class ContractAcceptApi(APIView):
    """The subscriber's click-to-accept of the current version (who, when, IP and hash recorded)."""

    permission_classes = [HasAnyRole("subscriber")]

    class InputSerializer(serializers.Serializer):
        language = serializers.ChoiceField(choices=Language.choices, default=Language.ES)
        sha256 = fields.CharField(
            max_length=64, required=False, help_text="The hash of the document the subscriber read (checked)."
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: AcceptanceOutput, **error_responses(409)},
    )
    def post(self, request: Request, subscription_id: int, version: int) -> Response:
        only = _only_client_id(request)
        subscription = selectors.subscription_get(subscription_id=subscription_id, only_client_id=only)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        document = selectors.contract_get(
            subscription=subscription, version=version, language=body.validated_data["language"]
        )
        if body.validated_data.get("sha256") not in (None, document.sha256):
            raise serializers.ValidationError(
                {"sha256": [gettext_lazy("This is not the hash of that contract.")]}
            )
        acceptance = services.contract_accept(
            document=document,
            user_subject=principal_of(request).subject,
            client_id=subscription.client_id,
            ip=client_ip(request),
            now=timezone.now(),
        )
        return Response(AcceptanceOutput(acceptance).data, status=status.HTTP_201_CREATED)


# --- the subscriber's own record -------------------------------------------------------------------------


class MeApi(APIView):
    permission_classes = [HasAnyRole("subscriber")]

    class OutputSerializer(serializers.Serializer):
        client = ClientOutput()
        subscriptions = SubscriptionOutput(many=True)

    @extend_schema(responses={200: OutputSerializer, **error_responses(404)})
    def get(self, request: Request) -> Response:
        client_id = _only_client_id(request)
        assert client_id is not None  # a subscriber always has one (checked above)
        client = selectors.client_get(client_id=client_id)
        subscriptions = selectors.subscription_list(client_id=client_id, status=SubscriptionStatus.ACTIVE)
        return Response(self.OutputSerializer({"client": client, "subscriptions": subscriptions}).data)
