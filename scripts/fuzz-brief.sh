#!/usr/bin/env bash
# Runs every fuzz target of the module briefly (default 10000 executions each): a smoke test that no
# parser crashes on what the fuzzer finds quickly. A count rather than a duration, because a
# duration can end while a worker runs an input, which Go reports as "context deadline exceeded".
# Run longer when a parser changes:
#   scripts/fuzz-brief.sh 5m
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-10000x}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u || true)
  for t in $targets; do
    echo "fuzz $pkg $t ($budget)"
    go test -run '^$' -fuzz "^$t\$" -fuzztime "$budget" "$pkg" >/tmp/mltrack-fuzz.log 2>&1 || { cat /tmp/mltrack-fuzz.log; exit 1; }
  done
done
