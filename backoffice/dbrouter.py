"""Keeps each service's tables in its own database.

No relation may cross a service boundary; the shared ``messaging`` app (outbox and inbox)
gets a table in every service database, because each service's outbox must commit in the
same transaction as that service's change.
"""

from __future__ import annotations

from typing import Any

from backoffice.databases import SERVICES, all_service_dbs, service_db

SHARED_APPS = {"messaging"}


def _alias_for(app_label: str) -> str | None:
    if app_label in SERVICES:
        return service_db(app_label)
    return None


class ServiceRouter:
    def db_for_read(self, model: type, **hints: Any) -> str | None:
        return _alias_for(model._meta.app_label)  # type: ignore[attr-defined]

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        return _alias_for(model._meta.app_label)  # type: ignore[attr-defined]

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        db1 = _alias_for(obj1._meta.app_label) or "default"
        db2 = _alias_for(obj2._meta.app_label) or "default"
        return db1 == db2

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        if app_label in SHARED_APPS:
            return db in all_service_dbs()
        alias = _alias_for(app_label)
        if alias is not None:
            return db == alias
        # Django's and third-party apps (auth, admin, oauth2_provider, ...) serve identity.
        return db == "default"
