# lib.sh: helpers shared by the CLI end-to-end tests (sourced).
set -euo pipefail
PLAB="${PLAB:?set PLAB to the plab binary}"
SRC="${PLAB_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
T="$(mktemp -d "${TMPDIR:-/tmp}/plab-cli.XXXXXX")"
cleanup() { rm -rf "$T"; }
trap cleanup EXIT
cd "$T"

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "-- $*"; }

# expect CODE CMD...: runs CMD, output in $T/out and $T/err; fails unless it exits CODE.
expect() {
  local want="$1"; shift
  set +e
  "$@" >"$T/out" 2>"$T/err"
  local got=$?
  set -e
  if [ "$got" != "$want" ]; then
    echo "stdout:" >&2; cat "$T/out" >&2; echo "stderr:" >&2; cat "$T/err" >&2
    fail "expected exit $want, got $got: $*"
  fi
}

# same_files DIR1 DIR2 FILE...: byte-identical files.
same_files() {
  local a="$1" b="$2"; shift 2
  for f in "$@"; do
    cmp -s "$a/$f" "$b/$f" || { diff <(head -c 2000 "$a/$f") <(head -c 2000 "$b/$f") >&2 || true
                                fail "$a/$f and $b/$f differ"; }
  done
}

# A fingerprint of everything in a directory (to prove nothing was written).
dir_sum() { (cd "$1" && find . -type f ! -name .lock -print0 | sort -z | xargs -0 sha256sum; ls -lA --time-style=full-iso .; stat -c %y .) | sha256sum; }

OUTPUTS="tasks.csv windows.csv events.csv summary.json"
