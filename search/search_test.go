package search

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mltrack/mltrack/filter"
	"github.com/mltrack/mltrack/mlflowclient"
)

// fakeStore is a Store with fixed experiments; the embedded interface panics on anything a
// search must not call.
type fakeStore struct {
	mlflowclient.Store
	exps []mlflowclient.Experiment
}

func (f *fakeStore) URI() string { return "fake://store" }

func (f *fakeStore) GetExperiment(ctx context.Context, id string) (mlflowclient.Experiment, error) {
	for _, e := range f.exps {
		if e.ID == id {
			return e, nil
		}
	}
	return mlflowclient.Experiment{}, fmt.Errorf("experiment %s: %w", id, mlflowclient.ErrNotFound)
}

func (f *fakeStore) GetExperimentByName(ctx context.Context, name string) (mlflowclient.Experiment, error) {
	for _, e := range f.exps {
		if e.Name == name {
			return e, nil
		}
	}
	return mlflowclient.Experiment{}, fmt.Errorf("experiment %q: %w", name, mlflowclient.ErrNotFound)
}

// listingStore also lists experiments and runs, as the local stores do.
type listingStore struct {
	fakeStore
	runs      []mlflowclient.Run
	listCalls [][]string
}

func (l *listingStore) ListExperiments(ctx context.Context, view mlflowclient.ViewType) ([]mlflowclient.Experiment, error) {
	var out []mlflowclient.Experiment
	for _, e := range l.exps {
		if view.Matches(e.LifecycleStage) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (l *listingStore) ListRuns(ctx context.Context, ids []string, view mlflowclient.ViewType) ([]mlflowclient.Run, error) {
	l.listCalls = append(l.listCalls, ids)
	var out []mlflowclient.Run
	for _, r := range l.runs {
		if slices.Contains(ids, r.Info.ExperimentID) && view.Matches(r.Info.LifecycleStage) {
			out = append(out, r)
		}
	}
	return out, nil
}

// serverStore answers searches itself and records them.
type serverStore struct {
	listingStore
	requests []mlflowclient.SearchRunsRequest
}

func (s *serverStore) SearchRuns(ctx context.Context, req mlflowclient.SearchRunsRequest) ([]mlflowclient.Run, error) {
	s.requests = append(s.requests, req)
	return []mlflowclient.Run{{Info: mlflowclient.RunInfo{RunID: "from-server"}}}, nil
}

func testExperiments() []mlflowclient.Experiment {
	return []mlflowclient.Experiment{
		{ID: "3", Name: "train", LifecycleStage: "active", CreationTime: 30},
		{ID: "2", Name: "1", LifecycleStage: "active", CreationTime: 20}, // a name that is another's id
		{ID: "1", Name: "eval", LifecycleStage: "active", CreationTime: 10},
		{ID: "4", Name: "old", LifecycleStage: "deleted", CreationTime: 5},
		{ID: "5", Name: "twice", LifecycleStage: "deleted", CreationTime: 4},
		{ID: "6", Name: "twice", LifecycleStage: "active", CreationTime: 3},
		{ID: "0", Name: "Default", LifecycleStage: "active", CreationTime: 1},
		{ID: "7", Name: "7", LifecycleStage: "active", CreationTime: 0},
	}
}

func testRuns() []mlflowclient.Run {
	mk := func(id, exp string, start int64, life string, loss float64, model string) mlflowclient.Run {
		r := mlflowclient.Run{Info: mlflowclient.RunInfo{RunID: id, ExperimentID: exp, StartTime: start, LifecycleStage: life, Status: mlflowclient.StatusFinished}}
		if !math.IsInf(loss, 0) {
			r.Data.Metrics = []mlflowclient.Metric{{Key: "loss", Value: loss}}
		}
		if model != "" {
			r.Data.Params = []mlflowclient.Param{{Key: "model", Value: model}}
		}
		return r
	}
	return []mlflowclient.Run{
		mk("a", "3", 100, "active", 0.5, "resnet"),
		mk("b", "3", 300, "active", 0.1, "vit"),
		mk("c", "1", 200, "active", math.NaN(), "resnet"),
		mk("d", "1", 200, "deleted", 0.2, "resnet"),
		mk("e", "0", 50, "active", math.Inf(1), ""), // no loss
		mk("f", "4", 10, "active", 0.3, "resnet"),   // in a deleted experiment
	}
}

func ids(runs []mlflowclient.Run) []string { return runIDs(runs) }

func TestSearchRunsLocal(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		req  Request
		want []string
	}{
		{"every active experiment, MLflow's default order", Request{}, []string{"b", "c", "a", "e"}},
		{"filter", Request{Filter: "params.model = 'resnet'"}, []string{"c", "a"}},
		{"order by metric: NaN after values, missing last", Request{OrderBy: []string{"metrics.loss"}}, []string{"b", "a", "c", "e"}},
		{"order by metric descending", Request{OrderBy: []string{"metrics.loss DESC"}}, []string{"a", "b", "c", "e"}},
		{"max results", Request{OrderBy: []string{"metrics.loss"}, MaxResults: 2}, []string{"b", "a"}},
		{"one experiment", Request{ExperimentIDs: []string{"1"}}, []string{"c"}},
		{"deleted runs", Request{ExperimentIDs: []string{"1", "3"}, View: mlflowclient.ViewDeletedOnly}, []string{"d"}},
		{"all runs", Request{ExperimentIDs: []string{"1"}, View: mlflowclient.ViewAll}, []string{"c", "d"}},
		{"a deleted experiment named by id", Request{ExperimentIDs: []string{"4"}}, []string{"f"}},
		{"metric comparison", Request{Filter: "metrics.loss < 0.4"}, []string{"b"}},
		{"NaN satisfies only !=", Request{Filter: "metrics.loss != 7"}, []string{"b", "c", "a"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := &listingStore{fakeStore: fakeStore{exps: testExperiments()}, runs: testRuns()}
			got, err := Runs(ctx, st, c.req)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids(got), c.want) {
				t.Errorf("runs = %v, want %v", ids(got), c.want)
			}
		})
	}
}

func TestSearchRunsAllActiveExperiments(t *testing.T) {
	st := &listingStore{fakeStore: fakeStore{exps: testExperiments()}, runs: testRuns()}
	if _, err := Runs(context.Background(), st, Request{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"3", "2", "1", "6", "0", "7"}
	if len(st.listCalls) != 1 || !reflect.DeepEqual(st.listCalls[0], want) {
		t.Errorf("ListRuns called with %v, want the active experiments %v", st.listCalls, want)
	}
	empty := &listingStore{}
	runs, err := Runs(context.Background(), empty, Request{})
	if err != nil || len(runs) != 0 || len(empty.listCalls) != 0 {
		t.Errorf("store without experiments: %v, %v, %d calls", runs, err, len(empty.listCalls))
	}
}

func TestSearchRunsServer(t *testing.T) {
	st := &serverStore{listingStore: listingStore{fakeStore: fakeStore{exps: testExperiments()}}}
	got, err := Runs(context.Background(), st, Request{ExperimentIDs: []string{"1"}, Filter: "metrics.x > 1", OrderBy: []string{"params.p DESC"}, View: mlflowclient.ViewAll})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ids(got), []string{"from-server"}) || len(st.listCalls) != 0 {
		t.Errorf("runs %v, ListRuns calls %v: the server must answer", ids(got), st.listCalls)
	}
	want := mlflowclient.SearchRunsRequest{ExperimentIDs: []string{"1"}, Filter: "metrics.x > 1", OrderBy: []string{"params.p DESC"}, MaxResults: 1000, View: mlflowclient.ViewAll}
	if len(st.requests) != 1 || !reflect.DeepEqual(st.requests[0], want) {
		t.Errorf("request = %+v, want %+v", st.requests, want)
	}
}

// TestSearchRunsRefusesBeforeAsking: bad input is refused with mltrack's own errors before any
// store is asked, the server included.
func TestSearchRunsRefusesBeforeAsking(t *testing.T) {
	for _, c := range []struct {
		name string
		req  Request
		want string // in the error
		syn  bool   // a *filter.SyntaxError
	}{
		{"OR", Request{Filter: "metrics.a > 1 OR metrics.b > 1"}, "filter:", true},
		{"unquoted param", Request{Filter: "params.issue_number = 123"}, "filter:", true},
		{"only whitespace", Request{Filter: "  "}, "filter:", true},
		{"bad order_by", Request{OrderBy: []string{"metrics.loss DESCENDING"}}, "order_by[0]", true},
		{"duplicate order_by", Request{OrderBy: []string{"params.a", "params.a DESC"}}, "order_by[1]", true},
		{"negative max", Request{MaxResults: -1}, "positive", false},
		{"max above MLflow's limit", Request{MaxResults: 50001}, "50000", false},
		{"view type", Request{View: 9}, "view type", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := &serverStore{listingStore: listingStore{fakeStore: fakeStore{exps: testExperiments()}}}
			_, err := Runs(context.Background(), st, c.req)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
			var se *filter.SyntaxError
			if errors.As(err, &se) != c.syn {
				t.Errorf("err %T: SyntaxError = %v, want %v", err, !c.syn, c.syn)
			}
			if len(st.requests) != 0 || len(st.listCalls) != 0 {
				t.Error("the store was asked although the request is bad")
			}
		})
	}
	st := &listingStore{fakeStore: fakeStore{exps: testExperiments()}, runs: testRuns()}
	if runs, err := Runs(context.Background(), st, Request{MaxResults: 50000}); err != nil || len(runs) != 4 {
		t.Errorf("max 50000 (MLflow's limit): %d runs, %v", len(runs), err)
	}
}

func TestSearchRunsUnsearchableStore(t *testing.T) {
	_, err := Runs(context.Background(), &fakeStore{exps: testExperiments()}, Request{ExperimentIDs: []string{"1"}})
	if err == nil || !strings.Contains(err.Error(), "cannot be searched") {
		t.Errorf("err = %v", err)
	}
}

func TestExperiments(t *testing.T) {
	ctx := context.Background()
	names := func(exps []mlflowclient.Experiment) []string {
		var out []string
		for _, e := range exps {
			out = append(out, e.ID+":"+e.Name)
		}
		return out
	}
	for _, kind := range []string{"listing", "getters"} {
		t.Run(kind, func(t *testing.T) {
			var st mlflowclient.Store = &listingStore{fakeStore: fakeStore{exps: testExperiments()}}
			if kind == "getters" {
				st = &fakeStore{exps: testExperiments()}
			}
			for _, c := range []struct {
				args []string
				want []string
				err  string
			}{
				{args: []string{"train"}, want: []string{"3:train"}},
				{args: []string{"3"}, want: []string{"3:train"}},
				{args: []string{"eval", "train", "3", "eval"}, want: []string{"1:eval", "3:train"}},
				{args: []string{"7"}, want: []string{"7:7"}},                // id and name of the same experiment
				{args: []string{"old"}, want: []string{"4:old"}},            // deleted, named explicitly
				{args: []string{"1"}, err: "ambiguous"},                     // id of "eval", name of experiment 2
				{args: []string{"nope"}, err: `no experiment named "nope"`}, // unknown
				{args: []string{"train", "42"}, err: `"42"`},
			} {
				got, err := Experiments(ctx, st, c.args)
				if c.err != "" {
					if err == nil || !strings.Contains(err.Error(), c.err) {
						t.Errorf("Experiments(%q) = %v, %v; want an error with %q", c.args, names(got), err, c.err)
					}
					continue
				}
				if err != nil || !reflect.DeepEqual(names(got), c.want) {
					t.Errorf("Experiments(%q) = %v, %v; want %v", c.args, names(got), err, c.want)
				}
			}
		})
	}
	st := &listingStore{fakeStore: fakeStore{exps: testExperiments()}}
	got, err := Experiments(ctx, st, []string{"twice"})
	if err != nil || !reflect.DeepEqual(names(got), []string{"6:twice"}) {
		t.Errorf("a name shared by a deleted and an active experiment = %v, %v; want the active one", names(got), err)
	}
	got, err = Experiments(ctx, st, nil)
	if err != nil || !reflect.DeepEqual(names(got), []string{"3:train", "2:1", "1:eval", "6:twice", "0:Default", "7:7"}) {
		t.Errorf("no arguments = %v, %v; want every active experiment", names(got), err)
	}
	if _, err := Experiments(ctx, &fakeStore{}, nil); err == nil {
		t.Error("a store that cannot list experiments listed them")
	}
}

// TestSearchRealStores runs Runs and Experiments on real SQLite and file stores that mltrack
// writes.
func TestSearchRealStores(t *testing.T) {
	ctx := context.Background()
	for _, uri := range []string{
		"sqlite:///" + filepath.ToSlash(filepath.Join(t.TempDir(), "mlflow.db")),
		filepath.Join(t.TempDir(), "mlruns"),
	} {
		st, err := mlflowclient.Open(uri, mlflowclient.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		exp, err := mlflowclient.EnsureExperiment(ctx, st, "seed")
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range []float64{30, 90, 61, 120} {
			info, err := st.CreateRun(ctx, mlflowclient.CreateRunRequest{ExperimentID: exp.ID, StartTime: int64(1000 + i), RunName: fmt.Sprint("r", i),
				Params: []mlflowclient.Param{{Key: "procedure_name", Value: []string{"extract-best-frame", "other"}[i%2]}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.LogBatch(ctx, info.RunID, []mlflowclient.Metric{{Key: "duration_seconds", Value: d}, {Key: "success", Value: float64(i % 3 % 2)}}, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		exps, err := Experiments(ctx, st, []string{"seed"})
		if err != nil || len(exps) != 1 {
			t.Fatalf("%s: Experiments = %v, %v", uri, exps, err)
		}
		runs, err := Runs(ctx, st, Request{Filter: "metrics.duration_seconds > 60", OrderBy: []string{"metrics.duration_seconds DESC"}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range runs {
			got = append(got, r.Info.RunName)
		}
		if !reflect.DeepEqual(got, []string{"r3", "r1", "r2"}) {
			t.Errorf("%s: runs = %v", uri, got)
		}
		runs, err = Runs(ctx, st, Request{ExperimentIDs: []string{exp.ID}, Filter: `params.procedure_name = "extract-best-frame" AND metrics.success = 0`})
		if err != nil || len(runs) != 2 || runs[0].Info.RunName != "r2" || runs[1].Info.RunName != "r0" {
			t.Errorf("%s: seed query = %v, %v", uri, runs, err)
		}
	}
}
