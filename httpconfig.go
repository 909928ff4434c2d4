package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/mltrack/mltrack/mlflowclient"
)

// httpOptions reads MLflow's own client settings for talking to a tracking server, under MLflow's
// names, so that a machine already set up for MLflow's Python client works unchanged. A value that
// does not parse is reported and MLflow's default is used: tracking settings never stop the command.
func httpOptions(env environment, warn func(string, ...any), stderr *os.File) mlflowclient.HTTPOptions {
	o := mlflowclient.HTTPOptions{
		Username:       env.get("MLFLOW_TRACKING_USERNAME"),
		Password:       env.get("MLFLOW_TRACKING_PASSWORD"),
		Token:          env.get("MLFLOW_TRACKING_TOKEN"),
		ServerCertPath: env.get("MLFLOW_TRACKING_SERVER_CERT_PATH"),
		ClientCertPath: env.get("MLFLOW_TRACKING_CLIENT_CERT_PATH"),
		Workspace:      env.get("MLFLOW_WORKSPACE"),
	}
	// ~/.mlflow/credentials fills what the environment leaves empty, as in MLflow's client.
	if o.Username == "" || o.Password == "" {
		user, pass := credentialsFile(homeDir(env))
		if o.Username == "" {
			o.Username = user
		}
		if o.Password == "" {
			o.Password = pass
		}
	}
	boolVar := func(name string, def bool) bool {
		v := env.get(name)
		if v == "" {
			return def
		}
		switch strings.ToLower(v) {
		case "true", "1":
			return true
		case "false", "0":
			return false
		}
		warn("%s=%q is not true/false/1/0; using %v", name, v, def)
		return def
	}
	number := func(name string, def float64) float64 {
		v := env.get(name)
		if v == "" {
			return def
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			warn("%s=%q is not a non-negative number; using MLflow's default %v", name, v, def)
			return def
		}
		return f
	}
	o.InsecureTLS = boolVar("MLFLOW_TRACKING_INSECURE_TLS", false)
	o.IgnoreRetryAfter = !boolVar("MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER", true)
	o.MaxRetries = int(number("MLFLOW_HTTP_REQUEST_MAX_RETRIES", 7))
	if o.MaxRetries == 0 {
		o.MaxRetries = -1 // MLflow's 0 is "no retries"; the option's zero value means the default
	}
	if o.MaxRetries > 10 {
		warn("MLFLOW_HTTP_REQUEST_MAX_RETRIES=%d is above MLflow's limit of 10; using 10", o.MaxRetries)
		o.MaxRetries = 10
	}
	o.BackoffFactor = number("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", 2)
	if o.BackoffFactor > 120 {
		warn("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR=%v is above MLflow's limit of 120; using 120", o.BackoffFactor)
		o.BackoffFactor = 120
	}
	o.BackoffJitter = number("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", 1)
	o.RequestTimeout = time.Duration(number("MLFLOW_HTTP_REQUEST_TIMEOUT", 120) * float64(time.Second))
	if stderr != nil && term.IsTerminal(int(stderr.Fd())) {
		o.Progress = stderr
	}
	return o
}

// credentialsFile reads the [mlflow] section of ~/.mlflow/credentials (MLflow's
// mlflow_tracking_username and mlflow_tracking_password keys).
func credentialsFile(home string) (user, pass string) {
	if home == "" {
		return "", ""
	}
	f, err := os.Open(filepath.Join(home, ".mlflow", "credentials"))
	if err != nil {
		return "", ""
	}
	defer f.Close()
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		if section != "mlflow" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "mlflow_tracking_username":
			user = strings.TrimSpace(v)
		case "mlflow_tracking_password":
			pass = strings.TrimSpace(v)
		}
	}
	return user, pass
}

// userAgent identifies mltrack to tracking servers.
func userAgent() string { return fmt.Sprintf("mltrack/%s", mltrackVersion()) }
