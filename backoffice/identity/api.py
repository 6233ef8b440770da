"""HTTP API of identity (``/api/identity/v1/``) and the JWKS document.

Each endpoint parses one input serializer, makes one service or selector call and shapes one
output serializer; domain errors become HTTP answers in ``backoffice.access.errors``.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.authentication import get_authorization_header
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access import fields
from backoffice.access.client_ip import client_ip
from backoffice.access.drf import HasAnyRole, principal_of
from backoffice.access.errors import Forbidden
from backoffice.access.openapi import PAGE_PARAMETER, error_responses, paginated
from backoffice.access.pagination import PageNumberPagination
from backoffice.identity import keys, selectors, services
from backoffice.identity.models import AuditEvent, Role, User
from backoffice.identity.tokens import TokenPair

LANGUAGE_CHOICES = [code for code, _name in settings.LANGUAGES]
# /password/reset answers no sooner than this, so timing does not tell whether an account exists.
PASSWORD_RESET_MIN_SECONDS = 0.25


# What identity's password validators ask that a schema can state: 8 characters or more, not all
# digits (and no NUL). They also refuse common passwords and ones too like the user's own data,
# and they judge the password themselves so that every reason comes back at once.
_NEW_PASSWORD_SCHEMA = {"type": "string", "minLength": 8, "pattern": r"^[^\x00]*[^\x00\d][^\x00]*$"}


@extend_schema_field(_NEW_PASSWORD_SCHEMA)
class NewPasswordField(fields.CharField):
    """A new password: text, judged by the password validators in the service."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)


def _meta(request: Request) -> services.RequestMeta:
    return services.RequestMeta(
        ip=client_ip(request._request), user_agent=request.META.get("HTTP_USER_AGENT", "")
    )


def _bearer(request: Request) -> str | None:
    parts = get_authorization_header(request).split()
    if len(parts) == 2 and parts[0].lower() == b"bearer":
        return parts[1].decode("latin-1")
    return None


def _current_user(request: Request) -> User:
    principal = principal_of(request)
    if principal.user_id is None:
        raise Forbidden(_("This endpoint is for users, not services."))
    return selectors.user_get(user_id=principal.user_id)


class TokenPairSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()


def _pair_response(pair: TokenPair) -> Response:
    data = {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "token_type": "Bearer",
        "expires_in": pair.expires_in,
    }
    response = Response(TokenPairSerializer(data).data)
    response["Cache-Control"] = "no-store"
    return response


class PublicEndpoint(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]


# --- Tokens ---------------------------------------------------------------------------------------


class TokenApi(PublicEndpoint):
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        password = fields.CharField(trim_whitespace=False)

    @extend_schema(
        request=InputSerializer,
        responses={200: TokenPairSerializer, **error_responses(400, 401, 429)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.token_obtain(**data.validated_data, meta=_meta(request), now=timezone.now())
        return _pair_response(pair)


class TokenRefreshApi(PublicEndpoint):
    class InputSerializer(serializers.Serializer):
        refresh_token = fields.CharField()

    @extend_schema(
        request=InputSerializer, responses={200: TokenPairSerializer, **error_responses(400, 401)}, auth=[]
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.token_refresh(**data.validated_data, meta=_meta(request), now=timezone.now())
        return _pair_response(pair)


class LogoutApi(PublicEndpoint):
    class InputSerializer(serializers.Serializer):
        refresh_token = fields.CharField()

    @extend_schema(request=InputSerializer, responses={204: None, **error_responses(400, 401)}, auth=[])
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.token_logout(
            **data.validated_data, access_token=_bearer(request), meta=_meta(request), now=timezone.now()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- The current user -----------------------------------------------------------------------------


class MeOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "roles", "client_id", "language", "email_verified"]


class MeApi(APIView):
    class InputSerializer(serializers.Serializer):
        full_name = fields.CharField(max_length=200, required=False, allow_blank=True)
        language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, required=False)

    @extend_schema(responses={200: MeOutputSerializer})
    def get(self, request: Request) -> Response:
        return Response(MeOutputSerializer(_current_user(request)).data)

    @extend_schema(request=InputSerializer, responses={200: MeOutputSerializer})
    def patch(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_profile_update(user=_current_user(request), **data.validated_data)
        return Response(MeOutputSerializer(user).data)


class PasswordChangeApi(APIView):
    class InputSerializer(serializers.Serializer):
        current_password = fields.CharField(trim_whitespace=False)
        new_password = NewPasswordField()

    @extend_schema(request=InputSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        principal = principal_of(request)
        services.password_change(
            user=_current_user(request),
            **data.validated_data,
            keep_sid=principal.claims.get("sid"),
            meta=_meta(request),
            now=timezone.now(),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Password recovery ----------------------------------------------------------------------------


class PasswordResetApi(PublicEndpoint):
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()

    class OutputSerializer(serializers.Serializer):
        detail = serializers.CharField()

    @extend_schema(
        request=InputSerializer, responses={202: OutputSerializer, **error_responses(400, 429)}, auth=[]
    )
    def post(self, request: Request) -> Response:
        started = time.monotonic()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_request(**data.validated_data, meta=_meta(request), now=timezone.now())
        body = {"detail": _("If an account uses this e-mail, we have sent it a link to reset the password.")}
        time.sleep(max(0.0, PASSWORD_RESET_MIN_SECONDS - (time.monotonic() - started)))
        return Response(self.OutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(PublicEndpoint):
    class InputSerializer(serializers.Serializer):
        token = fields.CharField()
        new_password = NewPasswordField()

    @extend_schema(request=InputSerializer, responses={204: None, **error_responses(400)}, auth=[])
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_confirm(**data.validated_data, meta=_meta(request), now=timezone.now())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Activation and e-mail verification -----------------------------------------------------------


class ActivationCodeApi(APIView):
    permission_classes = [HasAnyRole(Role.ADMIN.value, Role.BILLING.value)]

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        client_id = fields.IntegerField(min_value=1)
        full_name = fields.CharField(max_length=200, required=False, default="", allow_blank=True)
        language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, required=False, default="es")

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, **error_responses(409)})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        principal = principal_of(request)
        issuer = User.objects.filter(pk=principal.user_id).first() if principal.user_id else None
        code, row = services.activation_code_issue(
            **data.validated_data, issued_by=issuer, meta=_meta(request), now=timezone.now()
        )
        body = self.OutputSerializer({"code": code, "expires_at": row.expires_at}).data
        return Response(body, status=status.HTTP_201_CREATED)


class ActivationApi(PublicEndpoint):
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        code = fields.CharField(max_length=40)
        password = NewPasswordField()

    @extend_schema(
        request=InputSerializer,
        responses={201: MeOutputSerializer, **error_responses(400, 409, 429)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.account_activate(**data.validated_data, meta=_meta(request), now=timezone.now())
        return Response(MeOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class EmailVerifyApi(PublicEndpoint):
    class InputSerializer(serializers.Serializer):
        token = fields.CharField()

    @extend_schema(request=InputSerializer, responses={204: None, **error_responses(400)}, auth=[])
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.email_verify(**data.validated_data, meta=_meta(request), now=timezone.now())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Administration -------------------------------------------------------------------------------


class UserOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "full_name",
            "roles",
            "client_id",
            "language",
            "email_verified",
            "is_active",
            "date_joined",
        ]


class UserListApi(APIView):
    permission_classes = [HasAnyRole(Role.ADMIN.value)]

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        password = NewPasswordField(required=False)
        full_name = fields.CharField(max_length=200, required=False, default="", allow_blank=True)
        roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.values), min_length=1)
        client_id = fields.IntegerField(min_value=1, required=False, allow_null=True, default=None)
        language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, required=False, default="es")

    class FilterSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=Role.values, required=False)
        client_id = serializers.IntegerField(required=False, min_value=1, max_value=fields.BIGINT_MAX)

    @extend_schema(
        parameters=[FilterSerializer, PAGE_PARAMETER], responses={200: paginated(UserOutputSerializer)}
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(selectors.user_list(**filters.validated_data), request, view=self)
        return paginator.get_paginated_response(UserOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: UserOutputSerializer, **error_responses(409)})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        principal = principal_of(request)
        creator = User.objects.filter(pk=principal.user_id).first() if principal.user_id else None
        user = services.user_create(**data.validated_data, created_by=creator, meta=_meta(request))
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class AuditEventListApi(APIView):
    permission_classes = [HasAnyRole(Role.ADMIN.value)]

    class FilterSerializer(serializers.Serializer):
        email = fields.CharField(required=False)
        kind = serializers.ChoiceField(choices=AuditEvent.Kind.values, required=False)

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = AuditEvent
            fields = ["id", "kind", "user_id", "email", "ip_address", "user_agent", "detail", "created_at"]

    @extend_schema(
        parameters=[FilterSerializer, PAGE_PARAMETER], responses={200: paginated(OutputSerializer)}
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(
            selectors.audit_event_list(**filters.validated_data), request, view=self
        )
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


# --- JWKS -----------------------------------------------------------------------------------------


@require_GET
@cache_control(public=True, max_age=60)
def jwks(request: HttpRequest) -> JsonResponse:
    """Identity's public signing keys (RFC 7517); services cache them and re-fetch on a new kid."""
    return JsonResponse(keys.public_jwks())
