#!/usr/bin/env bash
# The README's run command: the whole system on embedded defaults with demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
bootstrap_python
exec .venv/bin/python scripts/devstack.py run "$@"
