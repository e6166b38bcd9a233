#!/usr/bin/env bash
# bad_input.sh: every kind of bad input gets a one-line message naming the problem and exit 2,
# and writes nothing over existing results.
source "$(dirname "$0")/lib.sh"
SMALL="tasks=3 gen_dim=64 gen_pool=300 hidden=32,32"
expect 0 "$PLAB" run $SMALL --out R --quiet
sum0="$(dir_sum R)"

# bad CMD... -- WORD...: exit 2, exactly one line on stderr containing every WORD, R untouched
bad() {
  local args=() words=()
  while [ "$1" != "--" ]; do args+=("$1"); shift; done; shift
  words=("$@")
  expect 2 "${args[@]}"
  [ "$(wc -l < "$T/err")" = 1 ] || fail "${args[*]}: expected one line on stderr, got: $(cat "$T/err")"
  for w in "${words[@]}"; do
    grep -qF -- "$w" "$T/err" || fail "${args[*]}: message lacks '$w': $(cat "$T/err")"
  done
  [ "$sum0" = "$(dir_sum R)" ] || fail "${args[*]}: R was changed"
  note "ok: $(cat "$T/err")"
}

J() { printf '%s\n' "$2" > "$1"; }
J unknown.json   '{"tasks": 3, "lrr": 0.1}'
J badvalue.json  '{"tasks": 3, "lr": -1}'
J wrongtype.json '{"tasks": 3,
  "lr": "fast"}'
J wrongbool.json '{"layer_norm": 1}'
J wronglist.json '{"hidden": {"a": 1}}'
J malformed.json '{"tasks": 3, "lr": 0.1,, }'
J empty.json     ''
J array.json     '[1, 2]'
J dup.json       '{"lr": 0.1,
"tasks": 3,
"lr": 0.2}'
J list.json      '{"method": ["none", "swr"]}'
J badpreset.json '{"preset": "pmnist-h7"}'
J badmethod.json '{"preset": "pmnist-h100", "method": "swr2"}'
J badseed.json   '{"seed": 1e300}'

bad "$PLAB" run --out R bogus=1                 -- "unknown key 'bogus'"
bad "$PLAB" run --out R lr=-1                   -- "key 'lr'" "-1"
bad "$PLAB" run --out R activation=gelu         -- "key 'activation'" "relu"
bad "$PLAB" run --out R hidden=10,x             -- "key 'hidden'"
bad "$PLAB" run --out R tasks                   -- "key=value"
bad "$PLAB" run --out R --bogus                 -- "unknown option '--bogus'"
bad "$PLAB" run --out R --config                -- "--config needs a file"
bad "$PLAB" run --out R --config unknown.json   -- "unknown.json line 1" "unknown key 'lrr'"
bad "$PLAB" run --out R --config badvalue.json  -- "badvalue.json line 1" "key 'lr'"
bad "$PLAB" run --out R --config wrongtype.json -- "wrongtype.json line 2" "key 'lr'" "expected a number, got a string"
bad "$PLAB" run --out R --config wrongbool.json -- "key 'layer_norm'" "expected true or false, got a number"
bad "$PLAB" run --out R --config wronglist.json -- "key 'hidden'" "got an object"
bad "$PLAB" run --out R --config malformed.json -- "malformed.json line 1 column" "malformed JSON"
bad "$PLAB" run --out R --config empty.json     -- "empty.json" "empty"
bad "$PLAB" run --out R --config array.json     -- "array.json" "JSON object"
bad "$PLAB" run --out R --config missing.json   -- "missing.json" "No such file"
bad "$PLAB" run --out R --config dup.json       -- "dup.json line 3" "duplicate key 'lr'"
bad "$PLAB" run --out R --config list.json      -- "key 'method' is a list" "plab sweep"
bad "$PLAB" run --out R --config badpreset.json -- "unknown preset 'pmnist-h7'"
bad "$PLAB" run --out R --config badmethod.json -- "unknown method 'swr2'" "pmnist-h100"
bad "$PLAB" run --out R --config badseed.json   -- "key 'seed'"
bad "$PLAB" run --out R --preset nope           -- "unknown preset 'nope'"
bad "$PLAB" run --out R --method nope           -- "unknown method 'nope'"
bad "$PLAB" run --out R activation=crelu hidden=33 -- "crelu needs even widths"
bad "$PLAB" run --out R $SMALL lr=0.01          -- "another configuration" "lr: 0.050000000000000003 there, 0.01 here"
bad "$PLAB" run --out N problem=pmnist data_dir="$T/no-such-dir" -- "dataset mnist not found" "fetch-data.sh"
[ ! -e N ] || fail "a run that cannot start created its directory"
bad "$PLAB" run --out N --config wrongtype.json -- "key 'lr'"
[ ! -e N ] || fail "a bad config created the run directory"
bad "$PLAB" run --out R PLAB_KERNELS=x          -- "unknown key 'PLAB_KERNELS'"
PLAB_KERNELS=bogus bad "$PLAB" run --out R      -- "PLAB_KERNELS" "key 'kernels'"
bad "$PLAB" resume "$T/nowhere"                 -- "no config.json"
bad "$PLAB" sweep --config list.json --jobs 0 --out R -- "--jobs"
bad "$PLAB" sweep --config badmethod.json --out R -- "unknown method 'swr2'"
bad "$PLAB" plan                                -- "--config FILE is required"
bad "$PLAB" cell --config list.json --index 2 --out R -- "the plan has 2 cells"
bad "$PLAB" summarize "$T/nowhere"              -- "not a directory"
bad "$PLAB" plot R                              -- "usage: plab plot"

note "a directory holding results but no config.json is not written into"
mkdir foreign && echo "precious" > foreign/tasks.csv
expect 2 "$PLAB" run $SMALL --out foreign
grep -q "not a plab run directory" err || fail "foreign directory: $(cat err)"
[ "$(cat foreign/tasks.csv)" = precious ] || fail "foreign/tasks.csv was overwritten"
echo "bad_input.sh: ok"
