#!/usr/bin/env bash
# Runs every fuzz target of the module (each `func FuzzXxx` in a _test.go
# file) for FUZZTIME (default 3s) — a smoke run in `make test`; a long run
# with, say, FUZZTIME=10m (FUZZPARALLEL=1 keeps it to one worker). It prints each target's last progress line (the
# executions it ran) and fails on the first crasher, which go test writes
# under the package's testdata/fuzz for a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-3s}
parallel=()
[ -n "${FUZZPARALLEL:-}" ] && parallel=(-parallel "$FUZZPARALLEL")
status=0
while IFS=: read -r file _ line; do
  name=$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/' <<<"$line")
  dir=./$(dirname "$file")
  out=$(go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "${parallel[@]}" "$dir" 2>&1) || {
    echo "FAIL $dir $name"; echo "$out" | tail -30; status=1; continue
  }
  execs=$(grep -Eo 'execs: [0-9]+' <<<"$out" | tail -1 || true)
  echo "ok   $dir $name (${execs:-no progress line} in $fuzztime)"
done < <(git ls-files '*_test.go' | xargs grep -n '^func Fuzz' | grep -v '^bench/')
exit $status
