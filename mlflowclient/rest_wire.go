package mlflowclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// The REST API's JSON is protobuf JSON as MLflow prints it (mlflow/utils/proto_json_utils.py):
// snake_case names, int64 as numbers (standard protobuf JSON would use strings, so both are
// accepted), enums by name, and non-finite doubles as the strings "NaN", "Infinity", "-Infinity"
// (encoding/json refuses to write those as numbers).

// jsonInt64 is an int64 that decodes from a JSON number or string.
type jsonInt64 int64

func (v *jsonInt64) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(b), 64) // 1.7e12 from a lenient server
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return fmt.Errorf("not an integer: %s", b)
		}
		n = int64(f)
	}
	*v = jsonInt64(n)
	return nil
}

// jsonFloat is a float64 written and read as protobuf JSON writes doubles.
type jsonFloat float64

func (v jsonFloat) MarshalJSON() ([]byte, error) {
	f := float64(v)
	switch {
	case math.IsNaN(f):
		return []byte(`"NaN"`), nil
	case math.IsInf(f, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-Infinity"`), nil
	}
	return json.Marshal(f)
}

func (v *jsonFloat) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*v = jsonFloat(math.NaN())
		case "Infinity":
			*v = jsonFloat(math.Inf(1))
		case "-Infinity":
			*v = jsonFloat(math.Inf(-1))
		default:
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return fmt.Errorf("not a number: %q", s)
			}
			*v = jsonFloat(f)
		}
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*v = jsonFloat(f)
	return nil
}

// jsonStatus is a RunStatus that also decodes from the enum's number.
type jsonStatus RunStatus

func (s *jsonStatus) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		*s = jsonStatus(str)
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	names := map[int]RunStatus{1: StatusRunning, 2: StatusScheduled, 3: StatusFinished, 4: StatusFailed, 5: StatusKilled}
	st, ok := names[n]
	if !ok {
		return fmt.Errorf("unknown run status %d", n)
	}
	*s = jsonStatus(st)
	return nil
}

type wireMetric struct {
	Key       string    `json:"key"`
	Value     jsonFloat `json:"value"`
	Timestamp jsonInt64 `json:"timestamp"`
	Step      jsonInt64 `json:"step"`
}

// MarshalJSON writes int64 fields as numbers (jsonInt64 only customises reading).
func (m wireMetric) MarshalJSON() ([]byte, error) {
	v, err := m.Value.MarshalJSON()
	if err != nil {
		return nil, err
	}
	k, err := json.Marshal(m.Key)
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, `{"key":%s,"value":%s,"timestamp":%d,"step":%d}`, k, v, int64(m.Timestamp), int64(m.Step)), nil
}

func toWireMetric(m Metric) wireMetric {
	return wireMetric{Key: m.Key, Value: jsonFloat(m.Value), Timestamp: jsonInt64(m.Timestamp), Step: jsonInt64(m.Step)}
}

func (m wireMetric) metric() Metric {
	return Metric{Key: m.Key, Value: float64(m.Value), Timestamp: int64(m.Timestamp), Step: int64(m.Step)}
}

type wireRunInfo struct {
	RunID          string     `json:"run_id"`
	RunUUID        string     `json:"run_uuid"`
	ExperimentID   string     `json:"experiment_id"`
	RunName        string     `json:"run_name"`
	UserID         string     `json:"user_id"`
	Status         jsonStatus `json:"status"`
	StartTime      jsonInt64  `json:"start_time"`
	EndTime        jsonInt64  `json:"end_time"`
	ArtifactURI    string     `json:"artifact_uri"`
	LifecycleStage string     `json:"lifecycle_stage"`
}

func (w wireRunInfo) info() RunInfo {
	id := w.RunID
	if id == "" {
		id = w.RunUUID
	}
	return RunInfo{
		RunID: id, ExperimentID: w.ExperimentID, RunName: w.RunName, UserID: w.UserID,
		Status: RunStatus(w.Status), StartTime: int64(w.StartTime), EndTime: int64(w.EndTime),
		ArtifactURI: w.ArtifactURI, LifecycleStage: w.LifecycleStage,
	}
}

type wireRun struct {
	Info wireRunInfo `json:"info"`
	Data struct {
		Metrics []wireMetric `json:"metrics"`
		Params  []Param      `json:"params"`
		Tags    []Tag        `json:"tags"`
	} `json:"data"`
}

func (w wireRun) run() Run {
	r := Run{Info: w.Info.info()}
	for _, m := range w.Data.Metrics {
		r.Data.Metrics = append(r.Data.Metrics, m.metric())
	}
	r.Data.Params = w.Data.Params
	r.Data.Tags = w.Data.Tags
	return r
}

type wireExperiment struct {
	ExperimentID     string    `json:"experiment_id"`
	Name             string    `json:"name"`
	ArtifactLocation string    `json:"artifact_location"`
	LifecycleStage   string    `json:"lifecycle_stage"`
	CreationTime     jsonInt64 `json:"creation_time"`
	LastUpdateTime   jsonInt64 `json:"last_update_time"`
	Tags             []Tag     `json:"tags"`
}

func (w wireExperiment) experiment() Experiment {
	return Experiment{
		ID: w.ExperimentID, Name: w.Name, ArtifactLocation: w.ArtifactLocation,
		LifecycleStage: w.LifecycleStage, CreationTime: int64(w.CreationTime),
		LastUpdateTime: int64(w.LastUpdateTime), Tags: w.Tags,
	}
}

// logBatchBody is the body of runs/log-batch. The slices are never nil so that each request
// spells out all three lists, as the Python client does.
type logBatchBody struct {
	RunID   string       `json:"run_id"`
	Metrics []wireMetric `json:"metrics"`
	Params  []Param      `json:"params"`
	Tags    []Tag        `json:"tags"`
}
