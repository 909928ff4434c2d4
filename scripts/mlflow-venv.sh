#!/usr/bin/env bash
# Creates (or reuses) a Python virtualenv holding one pinned MLflow release, the judge of compatibility
# in mltrack's integration tests.
#
#   scripts/mlflow-venv.sh VERSION DIR     e.g. scripts/mlflow-venv.sh 3.18.0 ~/.cache/mltrack/venv-3.18.0
#
# The venv is reused when DIR/bin/python already imports that exact MLflow version, so CI can cache it
# outside the checkout. Everything comes from PyPI by package name.
#
# Why the detour for some versions: a release of the `mlflow` wheel pins `mlflow-skinny` and
# `mlflow-tracing` at the same version, and the registry this project's machines reach does not always
# serve those two (3.18.0 is such a case on 2026-11-25). The `mlflow` wheel itself carries the whole
# `mlflow` Python package, so we install the dependencies of the newest skinny/tracing release that is
# served, remove those two distributions (their files would shadow the wheel's), and install the
# `mlflow` wheel without dependencies. `mlflow.__version__` then reports the pinned version.
set -euo pipefail
version=${1:?usage: mlflow-venv.sh VERSION DIR}
dir=${2:?usage: mlflow-venv.sh VERSION DIR}
python=${PYTHON:-python3}

if [ -x "$dir/bin/python" ] && [ "$("$dir/bin/python" -c 'import flask_wtf, mlflow; print(mlflow.__version__)' 2>/dev/null)" = "$version" ]; then
  echo "mlflow-venv: reusing $dir (mlflow $version)"
  exit 0
fi

rm -rf "$dir"
"$python" -m venv "$dir"
pip=("$dir/bin/pip" --disable-pip-version-check -q)
"${pip[@]}" install --upgrade pip >/dev/null

if "${pip[@]}" install "mlflow==$version"; then
  :
else
  echo "mlflow-venv: mlflow==$version does not resolve as published; installing its wheel without its skinny/tracing pins"
  fallback=${MLFLOW_SKINNY_FALLBACK:-3.17.2}
  "${pip[@]}" install "mlflow-skinny==$fallback" "mlflow-tracing==$fallback" \
    'Flask-CORS<7' 'Flask<4' 'aiohttp<4,>=3.7.0' 'alembic!=1.10.0,<2' 'cryptography<51,>=43.0.0' 'docker<8,>=4.0.0' \
    'graphene<4' 'gunicorn<27' 'huey<4,>=2.5.4' 'matplotlib<4' 'numpy<3' 'pandas<4' 'pyarrow<27,>=4.0.0' \
    'scikit-learn<2' 'scipy<2' 'skops<1' 'sqlalchemy<3,>=1.4.0'
  "${pip[@]}" uninstall -y mlflow-skinny mlflow-tracing
  "${pip[@]}" install --no-deps "mlflow==$version"
fi
# The server's basic-auth app (mlflow server --app-name basic-auth) needs Flask-WTF, an optional
# extra of MLflow's ("mlflow[auth]"); the REST tests use that app.
"${pip[@]}" install 'Flask-WTF<2'
got=$("$dir/bin/python" -c 'import mlflow; print(mlflow.__version__)')
if [ "$got" != "$version" ]; then
  echo "mlflow-venv: expected mlflow $version in $dir, found $got" >&2
  exit 1
fi
echo "mlflow-venv: mlflow $got ready in $dir"
