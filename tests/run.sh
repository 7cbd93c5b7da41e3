#!/usr/bin/env bash
# The one test command: README's `make test` and .ci/run both end here.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
# with no path among the arguments, the whole suite; `tests/run.sh tests/e2e/test_x.py -x` runs that file alone
paths=()
for a in "$@"; do [[ $a == tests* ]] && paths+=("$a"); done
if [ ${#paths[@]} -eq 0 ]; then set -- tests "$@"; fi
.venv/bin/python -m pytest "$@"
rc=$?
# pytest's 5 means "no tests collected": that is a failure for us, never a pass
exit $rc
