package mlflowclient

import (
	"encoding/json"
)

// This file writes runs and experiments as MLflow's REST API represents them (protobuf JSON with
// MLflow's field names), so that `mltrack runs search --format json` can be read by tooling written
// for `GET /api/2.0/mlflow/runs/search`. As protobuf JSON does, fields holding their zero value are
// left out, int64 fields are numbers (MLflow's own message_to_json writes them so), and NaN and
// ±Infinity metric values are the strings "NaN", "Infinity" and "-Infinity".

type restRunInfo struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid"` // deprecated in MLflow but still sent by every server
	RunName        string `json:"run_name,omitempty"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id,omitempty"`
	Status         string `json:"status,omitempty"`
	StartTime      int64  `json:"start_time,omitempty"`
	EndTime        int64  `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri,omitempty"`
	LifecycleStage string `json:"lifecycle_stage,omitempty"`
}

type restRunData struct {
	Metrics []wireMetric `json:"metrics,omitempty"`
	Params  []Param      `json:"params,omitempty"`
	Tags    []Tag        `json:"tags,omitempty"`
}

type restRun struct {
	Info restRunInfo `json:"info"`
	Data restRunData `json:"data"`
}

func toRESTRun(r Run) restRun {
	out := restRun{
		Info: restRunInfo{
			RunID: r.Info.RunID, RunUUID: r.Info.RunID, RunName: r.Info.RunName,
			ExperimentID: r.Info.ExperimentID, UserID: r.Info.UserID, Status: string(r.Info.Status),
			StartTime: r.Info.StartTime, EndTime: r.Info.EndTime, ArtifactURI: r.Info.ArtifactURI,
			LifecycleStage: r.Info.LifecycleStage,
		},
		Data: restRunData{Params: r.Data.Params, Tags: r.Data.Tags},
	}
	for _, m := range r.Data.Metrics {
		out.Data.Metrics = append(out.Data.Metrics, toWireMetric(m))
	}
	return out
}

// RESTRunsJSON is the body of a runs/search response holding runs: {"runs":[{"info":…,"data":…}]}.
// No runs gives {} as MLflow's server does (an empty repeated field is left out).
func RESTRunsJSON(runs []Run) ([]byte, error) {
	body := struct {
		Runs []restRun `json:"runs,omitempty"`
	}{}
	for _, r := range runs {
		body.Runs = append(body.Runs, toRESTRun(r))
	}
	return json.Marshal(body)
}

// RESTRunJSON is the body of a runs/get response: {"run":{"info":…,"data":…}}, plus, when
// artifacts is not nil, the run's artifact listing under "artifacts" in the shape of
// artifacts/list's "files" (an mltrack addition, ignored by readers of runs/get).
func RESTRunJSON(run Run, artifacts []ArtifactInfo) ([]byte, error) {
	body := struct {
		Run       restRun         `json:"run"`
		Artifacts *[]ArtifactInfo `json:"artifacts,omitempty"` // present, possibly [], when listed
	}{Run: toRESTRun(run)}
	if artifacts != nil {
		body.Artifacts = &artifacts
	}
	return json.Marshal(body)
}

type restExperiment struct {
	ExperimentID     string `json:"experiment_id"`
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location,omitempty"`
	LifecycleStage   string `json:"lifecycle_stage,omitempty"`
	CreationTime     int64  `json:"creation_time,omitempty"`
	LastUpdateTime   int64  `json:"last_update_time,omitempty"`
	Tags             []Tag  `json:"tags,omitempty"`
}

// RESTExperimentsJSON is the body of an experiments/search response: {"experiments":[…]}.
func RESTExperimentsJSON(exps []Experiment) ([]byte, error) {
	body := struct {
		Experiments []restExperiment `json:"experiments,omitempty"`
	}{}
	for _, e := range exps {
		body.Experiments = append(body.Experiments, restExperiment{
			ExperimentID: e.ID, Name: e.Name, ArtifactLocation: e.ArtifactLocation,
			LifecycleStage: e.LifecycleStage, CreationTime: e.CreationTime,
			LastUpdateTime: e.LastUpdateTime, Tags: e.Tags,
		})
	}
	return json.Marshal(body)
}
