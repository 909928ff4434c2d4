package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mltrack/mltrack/channel"
	"github.com/mltrack/mltrack/mlflowclient"
)

const logUsage = `usage:
  mltrack log metric NAME VALUE [--step N] [--run-id RUN_ID]
  mltrack log param NAME VALUE [--run-id RUN_ID]
  mltrack log tag NAME VALUE [--run-id RUN_ID]
  mltrack log artifact PATH [--artifact-path DIR] [--run-id RUN_ID]`

// logCommand is `mltrack log ...`: log into the run of the mltrack that started this command
// (through its local channel, so it works while the store is down and many calls at once do not
// race), or with --run-id into a run of the store directly. Inside a tracked command, tracking
// being down is a warning and exit 0, never a reason to fail a `set -e` script; a malformed call
// is exit 125.
func logCommand(ctx context.Context, args []string, io stdio, env environment) int {
	kind, pos, opts, err := parseLogArgs(args[1:])
	if err != nil {
		fmt.Fprintf(io.err, "mltrack log: %s\n%s\n", oneLine(err), logUsage)
		return exitUsage
	}
	runID := opts["run-id"]
	var metric mlflowclient.Metric
	var kv keyValue
	switch kind {
	case "metric", "param", "tag":
		if len(pos) != 2 {
			fmt.Fprintf(io.err, "mltrack log %s: want NAME VALUE\n%s\n", kind, logUsage)
			return exitUsage
		}
		if err := mlflowclient.ValidateKey(kind, pos[0]); err != nil {
			fmt.Fprintf(io.err, "mltrack log %s: %s\n", kind, oneLine(err))
			return exitUsage
		}
		kv = keyValue{pos[0], pos[1]}
		if kind == "metric" {
			v, err := parseMetricValue(pos[1])
			if err != nil {
				fmt.Fprintf(io.err, "mltrack log metric: %s\n", oneLine(err))
				return exitUsage
			}
			metric = mlflowclient.Metric{Key: pos[0], Value: v, Timestamp: time.Now().UnixMilli()}
		}
	case "artifact":
		if len(pos) != 1 {
			fmt.Fprintf(io.err, "mltrack log artifact: want one PATH\n%s\n", logUsage)
			return exitUsage
		}
		if st, err := os.Stat(pos[0]); err != nil || !st.Mode().IsRegular() {
			fmt.Fprintf(io.err, "mltrack log artifact: %s is not a readable regular file\n", pos[0])
			return exitUsage
		}
	}
	var step *int64
	if s, ok := opts["step"]; ok {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || kind != "metric" {
			fmt.Fprintf(io.err, "mltrack log: --step takes a whole number, with metric only\n")
			return exitUsage
		}
		step = &n
	}

	if runID == "" {
		addr := env.get(channel.EnvVar)
		if addr == "" {
			fmt.Fprintf(io.err, "mltrack log: not inside a command run by mltrack (%s is not set); run the command as `mltrack -- COMMAND`, or give --run-id RUN_ID to log into a run of the tracking store directly\n", channel.EnvVar)
			return 1
		}
		err := logThroughChannel(ctx, addr, kind, kv, metric, step, pos, opts["artifact-path"])
		if err == nil {
			return 0
		}
		var reqErr *channel.RequestError
		if errors.As(err, &reqErr) {
			fmt.Fprintf(io.err, "mltrack log: %s\n", oneLine(err))
			return exitUsage
		}
		fmt.Fprintf(io.err, "mltrack log: warning: not logged: %s\n", oneLine(err))
		return 0
	}
	return logToStore(ctx, io, env, runID, kind, kv, metric, step, pos, opts["artifact-path"])
}

func logThroughChannel(ctx context.Context, addr, kind string, kv keyValue, metric mlflowclient.Metric, step *int64, pos []string, artifactDir string) error {
	c, err := channel.Dial(addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	switch kind {
	case "metric":
		return c.LogMetrics(ctx, []channel.Metric{{Key: metric.Key, Value: metric.Value, Timestamp: metric.Timestamp, Step: step}})
	case "param":
		return c.LogParams(ctx, []mlflowclient.Param{{Key: kv.Key, Value: kv.Value}})
	case "tag":
		return c.SetTags(ctx, []mlflowclient.Tag{{Key: kv.Key, Value: kv.Value}})
	}
	abs, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	// Copying a large file may take longer than one request's default timeout.
	actx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	return c.LogArtifact(actx, abs, channel.ArtifactPath(abs, artifactDir))
}

// logToStore logs into an existing run of the tracking store (MLflow's rules choose the store).
func logToStore(ctx context.Context, io stdio, env environment, runID, kind string, kv keyValue, metric mlflowclient.Metric, step *int64, pos []string, artifactDir string) int {
	cwd, _ := os.Getwd()
	uri, err := mlflowclient.ResolveTrackingURI(env.get("MLFLOW_TRACKING_URI"), cwd)
	if err != nil {
		fmt.Fprintf(io.err, "mltrack log: %s\n", oneLine(err))
		return 1
	}
	w := &warnings{}
	store, err := mlflowclient.Open(uri, mlflowclient.Options{LockTimeout: 10 * time.Second, HTTP: httpOptions(env, w.add, nil), UserAgent: userAgent()})
	if err != nil {
		fmt.Fprintf(io.err, "mltrack log: %s\n", oneLine(err))
		return 1
	}
	defer store.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	run, err := store.GetRun(ctx, runID)
	if err != nil {
		fmt.Fprintf(io.err, "mltrack log: run %s in %s: %s\n", runID, mlflowclient.RedactURI(uri), oneLine(err))
		return 1
	}
	switch kind {
	case "metric":
		if step != nil {
			metric.Step = *step
		}
		err = store.LogBatch(ctx, runID, []mlflowclient.Metric{metric}, nil, nil)
	case "param":
		err = store.LogBatch(ctx, runID, nil, []mlflowclient.Param{{Key: kv.Key, Value: kv.Value}}, nil)
	case "tag":
		err = store.LogBatch(ctx, runID, nil, nil, []mlflowclient.Tag{{Key: kv.Key, Value: kv.Value}})
	case "artifact":
		abs, _ := filepath.Abs(pos[0])
		err = store.LogArtifact(ctx, run.Info, abs, channel.ArtifactPath(abs, artifactDir))
	}
	w.print(io.err)
	if err != nil {
		fmt.Fprintf(io.err, "mltrack log: %s\n", oneLine(err))
		return 1
	}
	return 0
}

// parseLogArgs splits `KIND ARGS... [--opt VALUE]...`; options may come anywhere after KIND.
func parseLogArgs(args []string) (kind string, pos []string, opts map[string]string, err error) {
	opts = map[string]string{}
	if len(args) == 0 {
		return "", nil, nil, errors.New("what to log is missing")
	}
	kind = args[0]
	switch kind {
	case "metric", "param", "tag", "artifact":
	default:
		return "", nil, nil, fmt.Errorf("unknown kind %q; want metric, param, tag or artifact", kind)
	}
	known := map[string]bool{"step": true, "run-id": true, "artifact-path": true}
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			pos = append(pos, rest[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "--") && len(a) > 2 {
			name, val, hasVal := strings.Cut(a[2:], "=")
			if !known[name] {
				return "", nil, nil, fmt.Errorf("unknown option --%s", name)
			}
			if !hasVal {
				if i+1 >= len(rest) {
					return "", nil, nil, fmt.Errorf("--%s needs a value", name)
				}
				i++
				val = rest[i]
			}
			opts[name] = val
			continue
		}
		pos = append(pos, a)
	}
	return kind, pos, opts, nil
}

// parseMetricValue accepts what Python's float() accepts for the common cases, including nan and inf.
func parseMetricValue(s string) (float64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "nan":
		return math.NaN(), nil
	case "inf", "+inf", "infinity":
		return math.Inf(1), nil
	case "-inf", "-infinity":
		return math.Inf(-1), nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	return v, nil
}
