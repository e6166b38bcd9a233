# lib.sh: helpers shared by the CLI end-to-end tests (sourced).
set -euo pipefail
PLAB="${PLAB:?set PLAB to the plab binary}"
SRC="${PLAB_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
T="$(mktemp -d "${TMPDIR:-/tmp}/plab-cli.XXXXXX")"
# Sanitized builds (scripts/test.sh): every plab process, including those killed, run in the
# background or expected to fail, logs its reports to $T/san.<pid>; any report fails the test.
# gcc's separate UBSan runtime ignores log_path: its reports exit 86, which no test expects.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T/san"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T/san:exitcode=86"
cleanup() {
  local code=$?
  if compgen -G "$T/san.*" >/dev/null; then
    cat "$T"/san.* >&2
    echo "FAIL: sanitizer reports in plab processes (above)" >&2
    code=1
  fi
  rm -rf "$T"
  exit "$code"
}
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
