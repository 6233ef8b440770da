#!/usr/bin/env bash
# mypy once per Django project, each against its own settings module (so the portal's settings
# are typed as the portal's, not the back office's), plus the code without Django.
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0
DJANGO_SETTINGS_MODULE=backoffice.settings .venv/bin/mypy --cache-dir .mypy_cache/backoffice \
  backoffice netagent scripts enlace_messaging enlace_settings chatbot || rc=1
DJANGO_SETTINGS_MODULE=portal.settings .venv/bin/mypy --cache-dir .mypy_cache/portal portal || rc=1
exit $rc
