#!/usr/bin/env bash
# The README's test command: installs what the tests need, starts what they need, then runs
# every gate (ruff, ruff format, mypy, import-linter) and every test suite.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
bootstrap_python
bootstrap_system_packages
ensure_services

# The chatbot's Rasa environment and model take minutes the first time on a machine (then they
# are reused, keyed by content): prepared in the background while the gates run. The chatbot
# tests wait for it (a file lock), and a failure there shows in them.
mkdir -p var
.venv/bin/python -m chatbot.rasa_setup model > var/rasa-setup.log 2>&1 &

failed=()
step() {
  local name=$1; shift
  echo "==> $name"
  if ! "$@"; then failed+=("$name"); fi
}

step "ruff check" .venv/bin/ruff check .
step "ruff format" .venv/bin/ruff format --check .
step "mypy" bash scripts/typecheck.sh
step "import-linter" .venv/bin/lint-imports

# Two Django projects (back-office and portal) cannot share one test process: one run each.
summary_dir=$(mktemp -d)
run_pytest() {
  local name=$1; shift
  echo "==> pytest ($name)"
  .venv/bin/pytest "$@" -q -rfE --junitxml="$summary_dir/$name.xml"
  local rc=$?
  # Exit 5 means "no tests collected" for this selection, which is not a failure of the gate.
  if [ $rc -ne 0 ] && [ $rc -ne 5 ]; then failed+=("pytest $name"); fi
}
run_pytest backoffice --ds=tests.settings_backoffice tests/backoffice tests/emulator tests/netagent tests/deploy tests/chatbot
run_pytest portal --ds=tests.settings_portal tests/portal tests/e2e

.venv/bin/python scripts/junit_summary.py "$summary_dir"/*.xml
if [ ${#failed[@]} -ne 0 ]; then
  echo "FAILED gates: ${failed[*]}"
  exit 1
fi
echo "All gates passed."
