from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "backoffice.identity"
    label = "identity"
    verbose_name = "Identity"

    def ready(self) -> None:
        from django.conf import settings

        from backoffice.identity import oauth

        # Revoking an OAuth2 access token in DOT's table revokes it for every service.
        oauth.connect_signals()

        if settings.PRODUCTION and "identity" in settings.ENLACE_SERVICES:
            from backoffice.identity import keys

            # In production a missing signing key is a start-up error, never a silent new key.
            keys.ensure_keys()
