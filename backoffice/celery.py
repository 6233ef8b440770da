"""The back office's Celery app: ``celery -A backoffice.celery worker`` / ``beat``.

Configured from Django's settings (``CELERY_*``, see backoffice/settings.py): the broker is
``ENLACE_CELERY_BROKER_URL`` (embedded default: kombu's filesystem transport under
``var/celery``, whose folders the settings create), the beat schedule is
``CELERY_BEAT_SCHEDULE``. Tasks are found in each installed app's ``tasks.py``.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("backoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
