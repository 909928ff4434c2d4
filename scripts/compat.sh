#!/usr/bin/env bash
# Compatibility check: repeats the SQLite and file-store checks (store integration tests and the
# end-to-end scripts that read runs back with MLflow's Python client) against other MLflow releases.
#
#   scripts/compat.sh                 # MLflow 3.10.1 and 3.14.0
#   scripts/compat.sh 3.12.0 3.16.1   # any releases
#
# Each version gets its own cached venv (~/.cache/mltrack/venv-VERSION). The pinned version (3.18.0)
# is what scripts/test.sh uses. docs/stores.md records when this last passed.
set -euo pipefail
cd "$(dirname "$0")/.."
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(3.10.1 3.14.0)
status=0
for v in "${versions[@]}"; do
  venv="$HOME/.cache/mltrack/venv-$v"
  scripts/mlflow-venv.sh "$v" "$venv"
  echo "== MLflow $v"
  if MLTRACK_TEST_PYTHON="$venv/bin/python" MLTRACK_MLFLOW_VERSION="$v" go test -count=1 \
      -run 'TestScripts/(sqlite-default|file-store|seed-procedures|output-dirs|mlflow-ui)$|SQLite.*MLflow|FileStore.*MLflow' \
      ./ ./mlflowclient/; then
    echo "MLflow $v: ok"
  else
    echo "MLflow $v: FAILED"; status=1
  fi
done
exit $status
