#!/usr/bin/env bash
# The whole test suite: static checks, unit tests, end-to-end scripts and integration tests against
# the real, pinned MLflow (installed on first use into a venv cached outside the checkout).
#
#   scripts/test.sh            everything, with the race detector
#   scripts/test.sh -short     skip the slow integration tests (MLflow server start-ups)
#
# Environment: MLTRACK_VENV (default ~/.cache/mltrack/venv-$MLFLOW_VERSION), MLFLOW_VERSION (3.18.0).
set -euo pipefail
cd "$(dirname "$0")/.."

mlflow_version=${MLFLOW_VERSION:-3.18.0}
venv=${MLTRACK_VENV:-$HOME/.cache/mltrack/venv-$mlflow_version}
scripts/mlflow-venv.sh "$mlflow_version" "$venv"
export MLTRACK_TEST_PYTHON="$venv/bin/python"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== cross-compile (linux, darwin, windows)"
for target in linux/amd64 linux/arm64 darwin/arm64 darwin/amd64 windows/amd64; do
  GOOS=${target%/*} GOARCH=${target#*/} go build -o /dev/null . || { echo "build failed for $target"; exit 1; }
done
echo "== go test -race"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
go test -race -count=1 -timeout 20m "$@" ./... 2>&1 | tee "$log"
packages_ok=$(grep -c '^ok ' "$log" || true)
echo "== fuzz targets (10000 executions each)"
scripts/fuzz-brief.sh 10000x
echo "== done"
echo "packages: $packages_ok passed, 0 failed"
