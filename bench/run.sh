#!/usr/bin/env bash
# Runs mltrack's benchmark suite and writes docs/performance.md.
#
#   bench/run.sh                    everything, full sizes (about 15 minutes); writes docs/performance.md
#   bench/run.sh --quick            small sizes, few repetitions; writes $TMPDIR/mltrack-performance-quick.md
#   bench/run.sh --only a,b         some sections: startup, passthrough, sampling, artifacts, remote, accuracy, search
#   bench/run.sh --out FILE         write the document elsewhere
#
# Needs Go, GNU time (/usr/bin/time; installed with apt-get when missing and running as root) and the
# pinned MLflow venv (made by scripts/mlflow-venv.sh when missing; MLTRACK_BENCH_VENV overrides its place).
# Everything runs in one temporary directory, removed at the end; the only server listens on 127.0.0.1.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
mlflow_version=3.18.0
venv=${MLTRACK_BENCH_VENV:-$HOME/.cache/mltrack/venv-$mlflow_version}

if ! /usr/bin/time -v true >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bench: installing GNU time" >&2
    apt-get install -y -q time >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q time >/dev/null; }
  else
    echo "bench: GNU time (/usr/bin/time) is missing; install the 'time' package" >&2
    exit 1
  fi
fi
"$repo/scripts/mlflow-venv.sh" "$mlflow_version" "$venv" >&2

args=()
for a in "$@"; do
  case "$a" in
    --quick) args+=(-quick) ;;
    --only) args+=(-only) ;;
    --only=*) args+=(-only "${a#--only=}") ;;
    --out) args+=(-out) ;;
    --out=*) args+=(-out "${a#--out=}") ;;
    --keep) args+=(-keep) ;;
    *) args+=("$a") ;;
  esac
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$repo" && go build -o "$tmp/bench" ./bench)
"$tmp/bench" -repo "$repo" -python "$venv/bin/python" "${args[@]}"
