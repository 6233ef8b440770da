"""The Celery application of the back office (``celery -A backoffice worker``).

Configured from Django settings (``CELERY_*``): the broker is ``ENLACE_CELERY_BROKER_URL`` —
kombu's filesystem transport under ``var/celery`` in embedded mode (no server, works across
processes), Redis in tests and docker-compose. Tasks live in each service's ``tasks.py``.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("enlace")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["backoffice.clients"])
