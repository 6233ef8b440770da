"""The portal's HTTP client of the identity service (``/api/identity/v1/``).

One narrow interface with typed errors, so views never see httpx or status codes. The
portal forwards the passwords users type and stores none of them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.utils import translation

_API = "/api/identity/v1"


class IdentityError(Exception):
    """Base of the identity client's errors; ``retryable`` says whether trying later can help."""

    retryable = False


class InvalidCredentials(IdentityError):
    """The e-mail and password do not match an active account."""


class TokenRejected(IdentityError):
    """Identity refused a token (expired, revoked or reused); the user must sign in again."""


class Throttled(IdentityError):
    """Too many attempts; identity accepts the next one after ``retry_after`` seconds."""

    retryable = True

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"throttled; retry after {retry_after} s")
        self.retry_after = retry_after


class IdentityUnavailable(IdentityError):
    """Identity did not answer, or answered with a server error."""

    retryable = True


class ValidationFailed(IdentityError):
    """Identity refused the input; ``errors`` maps each field (or ``detail``) to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(f"validation failed: {errors}")
        self.errors = errors


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class IdentityUser:
    id: int
    email: str
    full_name: str
    roles: list[str]
    client_id: int | None
    language: str
    email_verified: bool

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> IdentityUser:
        return cls(
            id=int(body["id"]),
            email=str(body["email"]),
            full_name=str(body.get("full_name") or ""),
            roles=[str(role) for role in body.get("roles") or []],
            client_id=None if body.get("client_id") is None else int(body["client_id"]),
            language=str(body.get("language") or ""),
            email_verified=bool(body.get("email_verified")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "full_name": self.full_name,
            "roles": list(self.roles),
            "client_id": self.client_id,
            "language": self.language,
            "email_verified": self.email_verified,
        }


def _field_errors(body: Any) -> dict[str, list[str]]:
    """Identity's errors, ``{"error", "detail"}`` or DRF's ``{field: [messages]}``, as one shape."""
    if not isinstance(body, dict):
        return {"detail": [str(body)]}
    if isinstance(body.get("fields"), dict):
        # {"error": "invalid", "detail": first message, "fields": {field: [messages]}}
        return _field_errors(body["fields"])
    if "error" in body and "detail" in body and isinstance(body["detail"], str):
        return {"detail": [body["detail"]]}
    errors: dict[str, list[str]] = {}
    for name, messages in body.items():
        if isinstance(messages, list):
            errors[name] = [str(message) for message in messages]
        else:
            errors[name] = [str(messages)]
    return errors


def _retry_after(response: httpx.Response) -> int:
    try:
        return max(1, int(response.headers.get("Retry-After", "60")))
    except ValueError:
        return 60


class IdentityClient:
    """Calls identity at ``base_url``; every method raises only IdentityError subclasses."""

    def __init__(self, base_url: str, *, timeout: float = 5.0, transport: httpx.BaseTransport | None = None):
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + _API,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            transport=transport,
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def _post(
        self,
        path: str,
        body: dict[str, Any],
        *,
        access_token: str | None = None,
        client_ip: str | None = None,
    ) -> httpx.Response:
        headers: dict[str, str] = {}
        if access_token:
            headers["Authorization"] = f"Bearer {access_token}"
        if client_ip:
            # Identity throttles per address and trusts this header from the portal's host.
            headers["X-Forwarded-For"] = client_ip
        return self._send("POST", path, json=body, headers=headers)

    def _send(self, method: str, path: str, *, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
        # Identity's error messages are shown to the user, so ask for them in the page's language.
        headers.setdefault("Accept-Language", translation.get_language() or settings.LANGUAGE_CODE)
        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise IdentityUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise IdentityUnavailable(f"{method} {path}: HTTP {response.status_code}")
        if response.status_code == 429:
            raise Throttled(_retry_after(response))
        return response

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise IdentityUnavailable(f"identity answered HTTP {response.status_code} without JSON") from exc

    def _raise_for_input(self, response: httpx.Response) -> None:
        if response.status_code in (400, 422):
            raise ValidationFailed(_field_errors(self._json(response)))
        if response.status_code >= 300:
            raise IdentityUnavailable(f"unexpected HTTP {response.status_code} from identity")

    def _token_pair(self, response: httpx.Response) -> TokenPair:
        body = self._json(response)
        try:
            return TokenPair(
                access_token=str(body["access_token"]),
                refresh_token=str(body["refresh_token"]),
                expires_in=int(body["expires_in"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IdentityUnavailable(f"identity returned a malformed token pair: {exc}") from exc

    def token_obtain(self, *, email: str, password: str, client_ip: str | None) -> TokenPair:
        """A token pair for these credentials; raises InvalidCredentials, Throttled, ..."""
        response = self._post("/token", {"email": email, "password": password}, client_ip=client_ip)
        if response.status_code == 401:
            raise InvalidCredentials(_field_errors(self._json(response))["detail"][0])
        if response.status_code == 400:
            # A malformed e-mail is, for the person signing in, just wrong credentials.
            raise InvalidCredentials("invalid input")
        self._raise_for_input(response)
        return self._token_pair(response)

    def token_refresh(self, *, refresh_token: str, client_ip: str | None = None) -> TokenPair:
        """A new pair for ``refresh_token`` (which becomes spent); TokenRejected when it is not valid."""
        response = self._post("/token/refresh", {"refresh_token": refresh_token}, client_ip=client_ip)
        if response.status_code in (400, 401):
            raise TokenRejected("the refresh token was refused")
        self._raise_for_input(response)
        return self._token_pair(response)

    def logout(self, *, refresh_token: str, access_token: str | None) -> None:
        """Revokes the session of ``refresh_token``; an already dead session is not an error."""
        response = self._post("/logout", {"refresh_token": refresh_token}, access_token=access_token)
        if response.status_code in (400, 401):
            return
        self._raise_for_input(response)

    def me(self, *, access_token: str) -> IdentityUser:
        """The signed-in user; TokenRejected when the access token is not (or no longer) valid."""
        response = self._send("GET", "/me", headers={"Authorization": f"Bearer {access_token}"})
        if response.status_code in (401, 403):
            raise TokenRejected("the access token was refused")
        self._raise_for_input(response)
        body = self._json(response)
        try:
            return IdentityUser.from_dict(body)
        except (KeyError, TypeError, ValueError) as exc:
            raise IdentityUnavailable(f"identity returned a malformed user: {exc}") from exc

    def password_change(self, *, access_token: str, current_password: str, new_password: str) -> None:
        """Changes the password; ValidationFailed names the field at fault."""
        response = self._post(
            "/password/change",
            {"current_password": current_password, "new_password": new_password},
            access_token=access_token,
        )
        if response.status_code == 401:
            raise TokenRejected("the access token was refused")
        # A wrong current password comes back as a 400 naming that field.
        self._raise_for_input(response)

    def password_reset_request(self, *, email: str, client_ip: str | None) -> None:
        """Asks identity to e-mail a reset link; says nothing about whether the account exists."""
        response = self._post("/password/reset", {"email": email}, client_ip=client_ip)
        self._raise_for_input(response)

    def password_reset_confirm(self, *, token: str, new_password: str) -> None:
        """Sets a new password with the e-mailed token; ValidationFailed when either is refused."""
        response = self._post("/password/reset/confirm", {"token": token, "new_password": new_password})
        self._raise_for_input(response)

    def account_activate(self, *, email: str, code: str, password: str, client_ip: str | None) -> None:
        """Activates an account with the code the ISP gave; ValidationFailed when refused."""
        response = self._post(
            "/activation", {"email": email, "code": code, "password": password}, client_ip=client_ip
        )
        self._raise_for_input(response)

    def email_verify(self, *, token: str) -> None:
        """Confirms an e-mail address with the token of the e-mailed link."""
        response = self._post("/email/verify", {"token": token})
        self._raise_for_input(response)


@functools.cache
def _client_for(base_url: str, timeout: float) -> IdentityClient:
    return IdentityClient(base_url, timeout=timeout)


def identity_client() -> IdentityClient:
    """The process-wide client (httpx pools connections and is thread-safe)."""
    return _client_for(settings.ENLACE_IDENTITY_URL, float(settings.ENLACE_IDENTITY_TIMEOUT_SECONDS))
