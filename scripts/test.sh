#!/usr/bin/env bash
# Set up everything (Debian packages, .venv), make sure PostgreSQL and Redis run, check the import
# contracts and the code style, run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/services.sh
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
# The layer contracts and the code style are part of the tests (pyproject.toml configures both).
echo "test: import contracts, lint, format"
.venv/bin/lint-imports --no-cache
.venv/bin/ruff check --no-cache .
.venv/bin/ruff format --check --no-cache .
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
# pytest exits 5 when it collected no test: that is a failure for us, not a pass.
exit "$status"
