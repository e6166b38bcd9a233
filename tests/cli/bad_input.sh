#!/usr/bin/env bash
# bad_input.sh: the bad-input table (tests/cli/bad_inputs.tsv). Every row is one invalid config,
# key=value flag, command-line flag, sweep file, IDX data file, checkpoint or results directory;
# each must be refused with its exit code and exactly one line on stderr holding every expected
# word, without a crash, and without writing over results: the finished run R and the row's own
# directories keep every byte.
source "$(dirname "$0")/lib.sh"
TABLE="$SRC/tests/cli/bad_inputs.tsv"
SMALL="tasks=3 gen_dim=64 gen_pool=300 hidden=32,32"
plab() { "$PLAB" "$@"; }
expect 0 "$PLAB" run $SMALL --out R --quiet
expect 0 "$PLAB" run $SMALL lr=0.01 --out OTHER --quiet

# ---- fixtures the table's setup column calls
# file NAME PRINTF-TEXT: a file from printf escapes
file() { printf "$2" > "$1"; }
# be32 N: a big-endian 32-bit integer as printf escapes
be32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
# idx DIR KIND: an MNIST-shaped IDX pair (100 images of 28x28) in DIR, spoiled as KIND says
idx() {
  local d="$1" kind="$2" n=100 rows=28 cols=28 imagic=0x00000803 lmagic=0x00000801 nl=100 label=3
  mkdir -p "$d"
  case "$kind" in
    magic) imagic=0x00000804 ;;   dims) rows=0 ;;   count) nl=99 ;;   label) label=200 ;;
    overflow) rows=0x7fffffff; cols=0x7fffffff ;;   huge) n=0x7fffffff ;;
  esac
  { printf "$(be32 $imagic)$(be32 $n)$(be32 $rows)$(be32 $cols)"; head -c $((100 * 784)) /dev/zero | tr '\0' '\7'; } > "$d/train-images-idx3-ubyte"
  { printf "$(be32 $lmagic)$(be32 $nl)"; head -c "$nl" /dev/zero | tr '\0' "\\$(printf '%03o' $label)"; } > "$d/train-labels-idx1-ubyte"
  case "$kind" in
    truncated) head -c 40000 "$d/train-images-idx3-ubyte" > "$d/t" && mv "$d/t" "$d/train-images-idx3-ubyte" ;;
    trailing) printf 'extra' >> "$d/train-labels-idx1-ubyte" ;;
    junk) (yes 'plab junk %$#@!' || true) | head -c 78416 | tr 'j' '\377' > "$d/train-images-idx3-ubyte" ;;
    gzip) gzip -c "$d/train-images-idx3-ubyte" > "$d/t" && mv "$d/t" "$d/train-images-idx3-ubyte" ;;
    empty) : > "$d/train-images-idx3-ubyte"; : > "$d/train-labels-idx1-ubyte" ;;
    nolabels) rm "$d/train-labels-idx1-ubyte" ;;
  esac
}
# fnv FILE [BYTES]: FNV-1a 64 of the first BYTES bytes (all by default), as 16 hex digits
fnv() {
  local h=$((0xcbf29ce484222325)) b
  for b in $(head -c "${2:-$(stat -c %s "$1")}" "$1" | od -An -v -tu1); do
    h=$(( (h ^ b) * 0x100000001b3 ))
  done
  printf '%016x' "$h"
}
# put FILE OFFSET HEX...: overwrites bytes at OFFSET
put() { local f="$1" off="$2"; shift 2; printf "$(printf '\\x%s' "$@")" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none; }
# le64hex HEX16: the little-endian byte list of a 64-bit value
le64() { local h="$1" i out=(); for i in 14 12 10 8 6 4 2 0; do out+=("${h:$i:2}"); done; echo "${out[@]}"; }
# reseal FILE: rewrites the CLI checkpoint's trailing checksum
reseal() { local n=$(($(stat -c %s "$1") - 8)); put "$1" "$n" $(le64 "$(fnv "$1" "$n")"); }
# ckpt DIR KIND: a copy of R made unfinished (resume would continue from state.ckpt), with the
# checkpoint spoiled as KIND says
CORE_AT=$((8 + 4 + 4 + 8 * 3 + 8))
ckpt() {
  local d="$1" kind="$2" f="$1/state.ckpt"
  rm -rf "$d"; cp -a R "$d"; rm -f "$d/DONE" "$d/summary.json"
  local size=$(stat -c %s "$f") asz core
  asz=$(od -An -tu8 -j $((16 + 24)) -N 8 "$f" | tr -d ' ')
  core=$((CORE_AT + asz + 8))   # offset of the core's checkpoint
  case "$kind" in
    truncated) head -c $((size / 2)) "$f" > "$d/t" && mv "$d/t" "$f" ;;
    empty) : > "$f" ;;
    junk) (yes 'not a checkpoint' || true) | head -c "$size" > "$f" ;;
    bitflip) put "$f" $((size / 2)) "$(printf '%02x' $(( $(od -An -tu1 -j $((size / 2)) -N 1 "$f") ^ 16 )))" ;;
    version) put "$f" 8 63 00 00 00; reseal "$f" ;;
    magic) put "$f" 0 58; reseal "$f" ;;
    coreversion) put "$f" $((core + 8)) 63 00 00 00
                 local cn=$((size - 8 - core - 8)) tmpc="$d/core"
                 tail -c +$((core + 1)) "$f" | head -c "$cn" > "$tmpc"
                 put "$f" $((core + cn)) $(le64 "$(fnv "$tmpc")"); rm "$tmpc"; reseal "$f" ;;
    corebits) put "$f" $((core + 200)) ff ff ff ff; reseal "$f" ;;
    other) cp OTHER/state.ckpt "$f" ;;
    shortcsv) head -c 100 "$d/tasks.csv" > "$d/t" && mv "$d/t" "$d/tasks.csv" ;;
    config) printf '{"tasks": 3,' > "$d/config.json" ;;
    noconfig) rm "$d/config.json" ;;
  esac
}

# fingerprint PATH: of a directory's files and metadata (lib.sh), or of a file's bytes
fingerprint() { if [ -d "$1" ]; then dir_sum "$1"; else sha256sum < "$1"; fi; }
sumR="$(dir_sum R)"
ran=0
declare -A per
while IFS=$'\t' read -r cat code setup cmd words; do
  case "$cat" in ''|'#'*) continue ;; esac
  [ "$setup" = - ] || eval "$setup"
  watch=(R); for d in C D F; do [ -e "$d" ] && watch+=("$d"); done
  declare -A before=()
  for d in "${watch[@]}"; do before[$d]="$(fingerprint "$d")"; done
  set +e
  eval "$cmd" >"$T/out" 2>"$T/err"
  got=$?
  set -e
  where="row '$cmd'"
  [ "$got" = "$code" ] || { cat "$T/err" >&2; fail "$where: exit $got, expected $code"; }
  [ "$(wc -l < "$T/err")" = 1 ] || fail "$where: expected one line on stderr, got: $(cat "$T/err")"
  IFS='|' read -ra ws <<< "$words"
  for w in "${ws[@]}"; do
    grep -qF -- "$w" "$T/err" || fail "$where: message lacks '$w': $(cat "$T/err")"
  done
  for d in "${watch[@]}"; do
    [ "${before[$d]}" = "$(fingerprint "$d")" ] || fail "$where: $d was changed"
  done
  ! grep -q 'Sanitizer\|runtime error' "$T/err" || fail "$where: sanitizer report"
  [ ! -e N ] || fail "$where: created the run directory N"
  [ -z "$(find . -name '*.tmp')" ] || fail "$where: left $(find . -name '*.tmp')"
  note "ok [$cat] exit $got: $(cat "$T/err")"
  ran=$((ran + 1)); per[$cat]=$(( ${per[$cat]:-0} + 1 ))
  rm -rf C D F N
done < "$TABLE"
[ "$sumR" = "$(dir_sum R)" ] || fail "R was changed"
for c in "${!per[@]}"; do echo "  $c: ${per[$c]}"; done | sort
[ "$ran" -ge 50 ] || fail "only $ran rows ran; the table needs at least 50"
echo "bad_input.sh: ok ($ran bad inputs refused)"
