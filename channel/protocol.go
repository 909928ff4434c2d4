package channel

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mltrack/mltrack/mlflowclient"
)

// EnvVar is the variable through which the parent gives the channel's address to its command.
const EnvVar = "MLTRACK_CHANNEL"

// ProtocolVersion is the version of the request and reply format this package speaks.
const ProtocolVersion = 1

// Limits of the channel. They keep a misbehaving client from costing the parent unbounded memory.
const (
	// MaxRequestBytes caps one request line (its JSON, without the newline).
	MaxRequestBytes = 1 << 20
	// MaxConns caps the connections served at once; further ones wait in the listen queue.
	MaxConns = 64
	// IdleTimeout closes a connection that sends nothing for this long.
	IdleTimeout = 10 * time.Second
	// DefaultTimeout bounds every client call unless the caller's context has its own deadline.
	DefaultTimeout = 2 * time.Second
	// CloseGrace is how long Server.Close waits for requests in flight.
	CloseGrace = 2 * time.Second
	// maxReplyBytes caps a reply line read by the client.
	maxReplyBytes = 64 << 10
	// maxRunKeyLen caps a run key (mltrack's are 32 hex digits).
	maxRunKeyLen = 128
)

// Request kinds on the wire.
const (
	opHello        = "hello"
	opLogMetrics   = "log_metrics"
	opLogParams    = "log_params"
	opSetTags      = "set_tags"
	opLogArtifact  = "log_artifact"
	opChildStarted = "child_started"
	opChildEnded   = "child_ended"
)

// Metric is one metric sample as a client sends it.
type Metric struct {
	Key   string
	Value float64 // NaN and ±Inf are allowed, as in MLflow
	// Timestamp is Unix epoch milliseconds; 0 means the time the parent receives it.
	Timestamp int64
	// Step nil means "the next one": the parent keeps a counter per metric name, shared by every
	// client of the run, that starts at 0 and continues after the largest step logged so far for
	// that name (explicit steps included), so `mltrack log metric loss 0.5` in a loop gives steps
	// 0, 1, 2, ... and never goes back behind an explicit --step.
	Step *int64
}

// HelloInfo is what the parent tells a client about its run, so a nested mltrack can link to it.
type HelloInfo struct {
	// RunID is empty while the run exists only in the parent's journal (store unreachable);
	// RunKey always identifies it (tag mltrack.run_key) and is what `mltrack sync` resolves.
	RunID          string `json:"run_id,omitempty"`
	ExperimentID   string `json:"experiment_id,omitempty"`
	ExperimentName string `json:"experiment_name,omitempty"`
	TrackingURI    string `json:"tracking_uri,omitempty"`
	RunKey         string `json:"run_key"`
	PID            int    `json:"pid,omitempty"`
}

// wireFloat is a float64 that survives JSON: NaN and ±Inf travel as strings.
type wireFloat float64

func (f wireFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (f *wireFloat) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*f = wireFloat(math.NaN())
		case "Infinity":
			*f = wireFloat(math.Inf(1))
		case "-Infinity":
			*f = wireFloat(math.Inf(-1))
		default:
			return fmt.Errorf("metric value %q is not a number", s)
		}
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("metric value %s is not a number", b)
	}
	v, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return fmt.Errorf("metric value %s is out of range", b)
	}
	*f = wireFloat(v)
	return nil
}

type wireMetric struct {
	Key       string    `json:"key"`
	Value     wireFloat `json:"value"`
	Timestamp int64     `json:"timestamp,omitempty"`
	Step      *int64    `json:"step,omitempty"`
}

// request is one request line. Only the fields of its op are meaningful.
type request struct {
	V            int                  `json:"v"`
	Op           string               `json:"op"`
	Metrics      []wireMetric         `json:"metrics,omitempty"`
	Params       []mlflowclient.Param `json:"params,omitempty"`
	Tags         []mlflowclient.Tag   `json:"tags,omitempty"`
	LocalPath    string               `json:"local_path,omitempty"`
	ArtifactPath string               `json:"artifact_path,omitempty"`
	RunKey       string               `json:"run_key,omitempty"`
	Status       string               `json:"status,omitempty"`
}

// reply is one reply line.
type reply struct {
	V     int        `json:"v"`
	OK    bool       `json:"ok"`
	Error string     `json:"error,omitempty"`
	Hello *HelloInfo `json:"hello,omitempty"`
}

// decodeRequest parses and checks one request line. Its errors are meant for the client.
func decodeRequest(line []byte) (request, error) {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return request{}, fmt.Errorf("malformed request: %s", errText(err))
	}
	switch {
	case req.V == 0:
		return request{}, errors.New("request without protocol version (\"v\")")
	case req.V != ProtocolVersion:
		return request{}, fmt.Errorf("protocol version %d is not supported by this mltrack (it speaks %d); run the same mltrack version inside the command as outside", req.V, ProtocolVersion)
	}
	switch req.Op {
	case opHello:
	case opLogMetrics:
		if len(req.Metrics) == 0 {
			return request{}, errors.New("log_metrics without metrics")
		}
		for _, m := range req.Metrics {
			if err := mlflowclient.ValidateKey("metric", m.Key); err != nil {
				return request{}, err
			}
		}
	case opLogParams:
		if len(req.Params) == 0 {
			return request{}, errors.New("log_params without params")
		}
		for _, p := range req.Params {
			if err := mlflowclient.ValidateKey("param", p.Key); err != nil {
				return request{}, err
			}
		}
	case opSetTags:
		if len(req.Tags) == 0 {
			return request{}, errors.New("set_tags without tags")
		}
		for _, t := range req.Tags {
			if err := mlflowclient.ValidateKey("tag", t.Key); err != nil {
				return request{}, err
			}
		}
	case opLogArtifact:
		if !filepath.IsAbs(req.LocalPath) {
			return request{}, fmt.Errorf("artifact file %q is not an absolute path", req.LocalPath)
		}
		if err := checkArtifactPath(req.ArtifactPath); err != nil {
			return request{}, err
		}
	case opChildStarted:
		if err := checkRunKey(req.RunKey); err != nil {
			return request{}, err
		}
	case opChildEnded:
		if err := checkRunKey(req.RunKey); err != nil {
			return request{}, err
		}
		if !mlflowclient.RunStatus(req.Status).Terminal() {
			return request{}, fmt.Errorf("child_ended with status %q; want FINISHED, FAILED or KILLED", req.Status)
		}
	case "":
		return request{}, errors.New("request without \"op\"")
	default:
		return request{}, fmt.Errorf("unknown request %q (this mltrack speaks protocol %d)", truncate(req.Op, 40), ProtocolVersion)
	}
	return req, nil
}

// checkArtifactPath accepts a file's path inside the run's artifacts: relative, slash-separated,
// normalised, not escaping the artifact root.
func checkArtifactPath(p string) error {
	bad := p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, `\`) ||
		path.Clean(p) != p || p == "." || p == ".." || strings.HasPrefix(p, "../") || !utf8.ValidString(p)
	if bad {
		return fmt.Errorf("artifact path %q must be a normalised relative path with '/' separators, inside the run's artifacts", truncate(p, 200))
	}
	return nil
}

func checkRunKey(k string) error {
	if k == "" || len(k) > maxRunKeyLen {
		return fmt.Errorf("run key must have 1 to %d characters", maxRunKeyLen)
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c >= 0x7f {
			return errors.New("run key must be printable ASCII without spaces")
		}
	}
	return nil
}

// errTooLarge says a line went past its cap.
var errTooLarge = errors.New("line too large")

// readLine reads one '\n'-terminated line of at most max bytes (newline excluded), without holding
// more than max bytes. The returned slice is only valid until the next read.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		if err == nil {
			frag = frag[:len(frag)-1]
			if line == nil {
				if len(frag) > max {
					return nil, errTooLarge
				}
				return frag, nil
			}
			if len(line)+len(frag) > max {
				return nil, errTooLarge
			}
			return append(line, frag...), nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
		if len(line)+len(frag) > max {
			return nil, errTooLarge
		}
		line = append(line, frag...)
	}
}

// errText shortens JSON errors, which can quote much of the input.
func errText(err error) string {
	return truncate(err.Error(), 200)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
