"""The anchor for mltrack's start-up cost: what a user writes instead of mltrack.

    python wrapper.py -- COMMAND [ARGS...]

It does the same logging as `mltrack -- COMMAND` with MLflow's own client: start a run, log the
command as a param, run the command, log its exit code, success and duration, end the run, and exit
like the command. The store comes from MLflow's defaults, as for mltrack (MLFLOW_TRACKING_URI, else
./mlruns when it holds data, else sqlite:///mlflow.db here).
"""

import shlex
import subprocess
import sys
import time

import mlflow


def main() -> int:
    argv = sys.argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    with mlflow.start_run() as run:
        mlflow.log_param("command", shlex.join(argv))
        start = time.monotonic()
        code = subprocess.run(argv).returncode
        duration = time.monotonic() - start
        mlflow.log_metrics({"exit_code": code, "success": 1.0 if code == 0 else 0.0, "duration_seconds": duration})
        if code != 0:
            mlflow.end_run(status="FAILED")
    return code


if __name__ == "__main__":
    sys.exit(main())
