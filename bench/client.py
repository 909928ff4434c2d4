"""MLflow's Python client doing what mltrack does, as anchors for bench/ (run by bench/run.sh).

    python client.py log-artifacts DIR           one run, mlflow.log_artifacts(DIR, "outputs")
    python client.py remote-log RUNS [--naive]   RUNS runs with 100 params and 1,000 metric samples each
    python client.py verify RUN_ID               what the store holds for a run (params, metric samples)
    python client.py search EXPERIMENT [FILTER]  mlflow.search_runs over an experiment
    python client.py stats EXPERIMENT COLUMN     search_runs, then a pandas group-by on COLUMN

The store is MLflow's default (MLFLOW_TRACKING_URI). Each prints one JSON line; "seconds" times the
work itself, after `import mlflow` (which the caller's wall clock includes).
"""

import json
import sys
import time

import mlflow
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient


def log_artifacts(directory):
    with mlflow.start_run() as run:
        start = time.monotonic()
        mlflow.log_artifacts(directory, "outputs")
        seconds = time.monotonic() - start
    return {"seconds": seconds, "run_id": run.info.run_id}


def metric_samples(now_ms):
    # 10 metrics x 100 steps, the same shape mltrack is given through MLTRACK_METRICS.
    return [Metric(f"metric_{k}", step * 0.001 + k, now_ms + step, step) for k in range(10) for step in range(100)]


def remote_log(runs, naive):
    client = MlflowClient()
    params = {f"param_{i}": f"value-{i}" for i in range(100)}
    start = time.monotonic()
    for _ in range(runs):
        with mlflow.start_run() as run:
            now = int(time.time() * 1000)
            if naive:
                # What most scripts do: one request per call.
                mlflow.log_params(params)
                for m in metric_samples(now):
                    mlflow.log_metric(m.key, m.value, step=m.step, timestamp=m.timestamp)
            else:
                # The fastest the client offers: batches (at most 1,000 metrics per request).
                client.log_batch(run.info.run_id, params=[Param(k, v) for k, v in params.items()])
                client.log_batch(run.info.run_id, metrics=metric_samples(now))
    return {"seconds": time.monotonic() - start, "runs": runs}


def verify(run_id):
    client = MlflowClient()
    run = client.get_run(run_id)
    samples = sum(len(client.get_metric_history(run_id, k)) for k in run.data.metrics if k.startswith("metric_"))
    return {"status": run.info.status, "params": len(run.data.params), "metric_samples": samples}


def search(experiment, filter_string=""):
    start = time.monotonic()
    df = mlflow.search_runs(experiment_names=[experiment], filter_string=filter_string, max_results=50000)
    return {"seconds": time.monotonic() - start, "rows": len(df)}


def stats(experiment, column):
    start = time.monotonic()
    df = mlflow.search_runs(experiment_names=[experiment], max_results=50000)
    metrics = [c for c in df.columns if c.startswith("metrics.")]
    grouped = df.groupby(column)[metrics].agg(["count", "mean", "min", "max"])
    return {"seconds": time.monotonic() - start, "rows": len(df), "groups": len(grouped)}


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "log-artifacts":
        out = log_artifacts(args[0])
    elif cmd == "remote-log":
        out = remote_log(int(args[0]), "--naive" in args)
    elif cmd == "verify":
        out = verify(args[0])
    elif cmd == "search":
        out = search(args[0], args[1] if len(args) > 1 else "")
    elif cmd == "stats":
        out = stats(args[0], args[1])
    else:
        sys.exit(f"client.py: unknown command {cmd}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
