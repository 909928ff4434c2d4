package mlflowclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// LogBatch writes metrics, params and tags in as few runs/log-batch requests as the server's
// limits allow (see splitBatch).
//
// Params are write-once. A server refuses a whole log-batch request when one of its params was
// already logged with another value (INVALID_PARAMETER_VALUE "Changing param values is not
// allowed..." from the SQL store, before anything is written; a FileStore-backed server reports
// it as INTERNAL_ERROR after writing the params before it). So that one conflict never loses the
// rest, such a request is sent again without its params, then each param alone with
// runs/log-parameter (logging the same value again is a no-op on the server). The refused params
// are reported as *ParamConflictError once everything else is written.
func (s *RESTStore) LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error {
	var conflicts []ParamConflict
	for _, b := range splitBatch(runID, metrics, params, tags, MaxBatchLogRequestSize) {
		err := s.postBatch(ctx, b)
		if err == nil {
			continue
		}
		if len(b.Params) == 0 || !isParamConflict(err) {
			return fmt.Errorf("log batch to run %s: %w", runID, err)
		}
		if len(b.Metrics)+len(b.Tags) > 0 {
			rest := b
			rest.Params = []Param{}
			if err := s.postBatch(ctx, rest); err != nil {
				return fmt.Errorf("log batch to run %s: %w", runID, err)
			}
		}
		for _, p := range b.Params {
			body := struct {
				RunID string `json:"run_id"`
				Key   string `json:"key"`
				Value string `json:"value"`
			}{runID, p.Key, p.Value}
			err := s.c.callJSON(ctx, "POST", "mlflow/runs/log-parameter", nil, body, nil, paramConflictIsPermanent)
			if err == nil {
				continue
			}
			if !isParamConflict(err) {
				return fmt.Errorf("log param %q to run %s: %w", p.Key, runID, err)
			}
			conflicts = append(conflicts, ParamConflict{Key: p.Key, Existing: existingFromMessage(err), Refused: p.Value})
		}
	}
	if len(conflicts) == 0 {
		return nil
	}
	// The server's message quotes the kept value, but a value may hold quotes itself: read it.
	if run, err := s.GetRun(ctx, runID); err == nil {
		kept := map[string]string{}
		for _, p := range run.Data.Params {
			kept[p.Key] = p.Value
		}
		for i, c := range conflicts {
			if v, ok := kept[c.Key]; ok {
				conflicts[i].Existing = v
			}
		}
	}
	return &ParamConflictError{RunID: runID, Conflicts: conflicts}
}

func (s *RESTStore) postBatch(ctx context.Context, b logBatchBody) error {
	return s.c.callJSON(ctx, "POST", "mlflow/runs/log-batch", nil, b, nil, paramConflictIsPermanent)
}

const paramConflictText = "Changing param values is not allowed"

// isParamConflict recognises MLflow's refusal to change a param, whatever status carried it.
func isParamConflict(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && isParamConflictAPI(apiErr)
}

func isParamConflictAPI(e *APIError) bool {
	return strings.Contains(e.Message, paramConflictText)
}

// paramConflictIsPermanent stops retries of a param conflict reported as a 500.
func paramConflictIsPermanent(cl *call) { cl.permanent = isParamConflictAPI }

// existingFromMessage reads the kept value from the server's message ("...was already logged with
// value='X' for run ID=..."), a fallback for when the run cannot be read.
func existingFromMessage(err error) string {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return ""
	}
	const open, close = "logged with value='", "' for run ID="
	m := apiErr.Message
	i := strings.Index(m, open)
	if i < 0 {
		return ""
	}
	rest := m[i+len(open):]
	j := strings.LastIndex(rest, close)
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// splitBatch cuts a batch into log-batch requests within the limits of the server
// (mlflow/utils/validation.py): at most 1000 metrics, 100 params, 100 tags and 1000 entities in
// all, and a JSON body of at most limit bytes. Like MLflow's client it sends params and tags first
// and fills each request with metrics; unlike it, it also keeps every body under the byte limit
// (100 tags of 8000 characters are more than 1 MB). An entity larger than the limit on its own
// (impossible after Sanitize) travels alone.
func splitBatch(runID string, metrics []Metric, params []Param, tags []Tag, limit int) []logBatchBody {
	base := len(mustJSON(logBatchBody{RunID: runID, Metrics: []wireMetric{}, Params: []Param{}, Tags: []Tag{}}))
	var out []logBatchBody
	pi, ti, mi := 0, 0, 0
	for pi < len(params) || ti < len(tags) || mi < len(metrics) {
		b := logBatchBody{RunID: runID, Metrics: []wireMetric{}, Params: []Param{}, Tags: []Tag{}}
		size, n := base, 0
		// fits adds an entity of sz bytes to a list that already holds inList entries.
		fits := func(sz, inList int) bool {
			add := sz
			if inList > 0 {
				add++ // the comma
			}
			if n > 0 && size+add > limit {
				return false
			}
			size += add
			n++
			return true
		}
		for pi < len(params) && len(b.Params) < MaxParamsTagsPerBatch && n < MaxEntitiesPerBatch {
			if !fits(len(mustJSON(params[pi])), len(b.Params)) {
				break
			}
			b.Params = append(b.Params, params[pi])
			pi++
		}
		for ti < len(tags) && len(b.Tags) < MaxParamsTagsPerBatch && n < MaxEntitiesPerBatch {
			if !fits(len(mustJSON(tags[ti])), len(b.Tags)) {
				break
			}
			b.Tags = append(b.Tags, tags[ti])
			ti++
		}
		for mi < len(metrics) && len(b.Metrics) < MaxMetricsPerBatch && n < MaxEntitiesPerBatch {
			w := toWireMetric(metrics[mi])
			if !fits(len(mustJSON(w)), len(b.Metrics)) {
				break
			}
			b.Metrics = append(b.Metrics, w)
			mi++
		}
		out = append(out, b)
	}
	return out
}

// mustJSON encodes values that always encode (strings, numbers, and wireMetric).
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("mlflowclient: encode %T: %v", v, err))
	}
	return b
}
