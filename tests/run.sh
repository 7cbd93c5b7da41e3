#!/usr/bin/env bash
# The one test command: README's `make test` and .ci/run both end here.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
.venv/bin/python -m pytest tests "$@"
rc=$?
# pytest's 5 means "no tests collected": that is a failure for us, never a pass
exit $rc
