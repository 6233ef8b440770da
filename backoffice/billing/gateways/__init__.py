"""Payment gateways behind one small interface (:mod:`backoffice.billing.gateways.base`).

``gateway_get(name)`` returns the configured gateway; ``gateways_enabled()`` lists those whose
keys are set, or only the demo gateway when none is.
"""

from __future__ import annotations

from django.conf import settings

from backoffice.billing.gateways.base import Gateway, GatewayError


def gateways_enabled() -> list[str]:
    names = []
    if settings.ENLACE_STRIPE_SECRET_KEY:
        names.append("stripe")
    if settings.ENLACE_PAYPAL_CLIENT_ID:
        names.append("paypal")
    return names or ["demo"]


def gateway_get(name: str) -> Gateway:
    """The gateway ``name``; raises GatewayError(permanent) for one not configured."""
    if name not in gateways_enabled():
        raise GatewayError(f"the {name!r} gateway is not enabled here", retryable=False)
    if name == "stripe":
        from backoffice.billing.gateways.stripe_gateway import StripeGateway

        return StripeGateway.from_settings()
    if name == "paypal":
        from backoffice.billing.gateways.paypal_gateway import PayPalGateway

        return PayPalGateway.from_settings()
    from backoffice.billing.gateways.demo_gateway import DemoGateway

    return DemoGateway.from_settings()
