package delivery

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mltrack/mltrack/journal"
	"github.com/mltrack/mltrack/mlflowclient"
)

func TestDeliverCompleteRunTwice(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			ts := newTestStore(t, kind)
			p, want, _ := writeJournal(t, t.TempDir(), journalSpec{uri: ts.store.URI()})
			res, err := Deliver(ctx, p, ts.store, Options{})
			if err != nil || res.State != StateDelivered || !res.Created {
				t.Fatalf("Deliver = %+v, %v", res, err)
			}
			if exists(p.Dir) {
				t.Fatal("journal kept after a complete delivery")
			}
			run := check(t, ts, want, 0)
			if res.RunID != run.Info.RunID || res.ExperimentID != run.Info.ExperimentID {
				t.Errorf("result run %s/%s, store %s/%s", res.ExperimentID, res.RunID, run.Info.ExperimentID, run.Info.RunID)
			}
			// 10 loss + 3 cpu samples; params lr, command (create) and epochs; create's 3 tags and
			// 2 batches' stage; the log once (its first version was replaced) and the model.
			wantCounts := Counts{Metrics: 13, Params: 3, Tags: 5, Artifacts: 2, ArtifactBytes: int64(len("second version\n") + len("weights\x00\x01"))}
			if res.Delivered != wantCounts {
				t.Errorf("counts = %+v, want %+v", res.Delivered, wantCounts)
			}
			if len(res.Warnings) != 0 {
				t.Errorf("warnings: %v", res.Warnings)
			}
			if !strings.Contains(res.String(), "delivered to "+ts.store.URI()) {
				t.Errorf("String() = %q", res.String())
			}

			// Again, with the same (stale) view of the journal: nothing changes.
			res, err = Deliver(ctx, p, ts.store, Options{})
			if err != nil || res.State != StateDelivered || res.Delivered != (Counts{}) {
				t.Fatalf("second Deliver = %+v, %v", res, err)
			}
			check(t, ts, want, 0)
		})
	}
}

// An interruption at every store call in turn (the call fails without reaching the store, or
// reaches it and its answer is lost), then a resumed delivery: exactly one complete run. A SQLite
// store holds no duplicate sample even for a lost answer; a file store appends the samples of a
// lost LogBatch answer a second time (the one window that cannot be closed, see the package
// comment), and nothing else.
func TestDeliverInterruptedAtEveryCallResumes(t *testing.T) {
	for _, kind := range storeKinds {
		for _, lost := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/answer-lost=%v", kind, lost), func(t *testing.T) {
				ctx := context.Background()
				// How many calls does an uninterrupted delivery make?
				ts0 := newTestStore(t, kind)
				p0, _, _ := writeJournal(t, t.TempDir(), journalSpec{})
				counter := &faultyStore{Store: ts0.store}
				if res, err := Deliver(ctx, p0, counter, Options{}); err != nil {
					t.Fatalf("%+v %v", res, err)
				}
				total := counter.count()
				if total < 8 {
					t.Fatalf("only %d store calls: %v", total, counter.methods)
				}
				for k := 1; k <= total; k++ {
					ts := newTestStore(t, kind)
					p, want, _ := writeJournal(t, t.TempDir(), journalSpec{})
					fs := &faultyStore{Store: ts.store, failAt: k, applyThenFail: lost}
					res, err := Deliver(ctx, p, fs, Options{})
					if res.State == StateDelivered && err == nil && fs.methods[k-1] == "LogArtifact" {
						// A failed upload is retried file by file at once.
						check(t, ts, want, 0)
						continue
					}
					if err == nil || res.State != StateFailed || !errors.Is(err, errInjected) {
						t.Fatalf("call %d: Deliver = %+v, %v; calls %v, first delivery's calls %v", k, res, err, fs.methods, counter.methods)
					}
					if !exists(p.Dir) || res.Remaining == 0 {
						t.Fatalf("call %d: journal gone or nothing remaining after a failure: %+v", k, res)
					}
					res, err = Deliver(ctx, reload(t, p.Dir), ts.store, Options{})
					if err != nil || res.State != StateDelivered {
						t.Fatalf("call %d: resumed Deliver = %+v, %v", k, res, err)
					}
					allowed := 0
					if kind == "file" {
						allowed = fs.lostMetrics
					}
					check(t, ts, want, allowed)
					if t.Failed() {
						t.Fatalf("interrupted at call %d (%s)", k, fs.methods[k-1])
					}
				}
			})
		}
	}
}

// The budget runs out in the middle: the delivery stops between requests, says so, leaves the
// journal consistent, and a later delivery completes the run without duplicates.
func TestDeliverStopsAtDeadlineAndResumes(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			ts := newTestStore(t, kind)
			p, want, _ := writeJournal(t, t.TempDir(), journalSpec{})
			for stopAfter := 1; ; stopAfter++ {
				ctx, cancel := context.WithCancel(context.Background())
				fs := &faultyStore{Store: ts.store, after: func(n int, _ string) {
					if n == stopAfter {
						cancel()
					}
				}}
				res, err := Deliver(ctx, reload(t, p.Dir), fs, Options{})
				cancel()
				if res.State == StateDelivered {
					break
				}
				if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "time budget") {
					t.Fatalf("stop after %d: %+v %v", stopAfter, res, err)
				}
				if stopAfter > 50 {
					t.Fatal("never completes")
				}
			}
			check(t, ts, want, 0)
		})
	}
}

// The recorder created the run, then the store failed: the journal's run_id event points at it,
// and the delivery completes that run instead of creating another.
func TestDeliverCompletesRunTheRecorderCreated(t *testing.T) {
	for _, kind := range storeKinds {
		for _, variant := range []string{"run_id event, create acked", "run_id event, create not acked", "no run_id event (lost), found by key"} {
			t.Run(kind+"/"+variant, func(t *testing.T) {
				ctx := context.Background()
				ts := newTestStore(t, kind)
				spool := t.TempDir()
				p, want, _ := writeJournal(t, spool, journalSpec{})
				// What the recorder did before the store failed: experiment, run with its tags
				// (params too unless the run was created without them), journaled and acked.
				exp, err := mlflowclient.EnsureExperiment(ctx, ts.store, "deliver")
				if err != nil {
					t.Fatal(err)
				}
				req := mlflowclient.CreateRunRequest{ExperimentID: exp.ID, RunName: "train", UserID: "tester", StartTime: 1_700_000_000_000,
					Tags: []mlflowclient.Tag{{Key: "mlflow.user", Value: "tester"}, {Key: mlflowclient.RunKeyTag, Value: p.Meta.Key}, {Key: "stage", Value: "a"}}}
				if variant == "run_id event, create acked" {
					req.Params = []mlflowclient.Param{{Key: "lr", Value: "0.1"}, {Key: "command", Value: "python train.py --lr 0.1"}}
				}
				info, err := ts.store.CreateRun(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				j, err := journal.OpenExisting(p.Dir)
				if err != nil {
					t.Fatal(err)
				}
				if variant != "no run_id event (lost), found by key" {
					j.Append(journal.TypeRunID, journal.RunIDData{RunID: info.RunID, ExperimentID: info.ExperimentID})
				}
				if variant == "run_id event, create acked" {
					j.Ack(1)
				}
				j.Close()

				res, err := Deliver(ctx, reload(t, p.Dir), ts.store, Options{})
				if err != nil || res.State != StateDelivered || res.Created || res.RunID != info.RunID {
					t.Fatalf("Deliver = %+v, %v (recorder's run %s)", res, err, info.RunID)
				}
				check(t, ts, want, 0)
			})
		}
	}
}

// A run_id event from another store (the journal is delivered elsewhere with `sync
// --tracking-uri`): that run is not in this store, so the run is looked up by key, then created.
func TestDeliverRunIDFromAnotherStore(t *testing.T) {
	ctx := context.Background()
	ts := newTestStore(t, "sqlite")
	p, want, _ := writeJournal(t, t.TempDir(), journalSpec{})
	j, _ := journal.OpenExisting(p.Dir)
	j.Append(journal.TypeRunID, journal.RunIDData{RunID: "0123456789abcdef0123456789abcdef", ExperimentID: "1"})
	j.Close()
	res, err := Deliver(ctx, reload(t, p.Dir), ts.store, Options{})
	if err != nil || res.State != StateDelivered || !res.Created {
		t.Fatalf("Deliver = %+v, %v", res, err)
	}
	check(t, ts, want, 0)
}

// deadPID is the pid of a child that exited and was reaped: no process has it.
func deadPID(t *testing.T) int {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if gone, why := journal.OwnerGone(journal.Meta{PID: cmd.Process.Pid}); !gone {
		t.Skipf("pid %d reused at once: %s", cmd.Process.Pid, why)
	}
	return cmd.Process.Pid
}

// No end event, and the mltrack that recorded the run is provably gone: the run is closed as
// FAILED at the time of its last event, with tags saying who closed it and why.
func TestDeliverClosesRunOfGoneOwner(t *testing.T) {
	_, start, boot := journal.CurrentOwner()
	owners := map[string]journal.Meta{"no such process": {PID: deadPID(t)}}
	if boot != "" {
		owners["the machine rebooted"] = journal.Meta{PID: os.Getpid(), PIDStartTime: start, BootID: "a-boot-before-this-one"}
	}
	for _, kind := range storeKinds {
		for why, owner := range owners {
			t.Run(kind+"/"+why, func(t *testing.T) {
				ctx := context.Background()
				ts := newTestStore(t, kind)
				p, want, _ := writeJournal(t, t.TempDir(), journalSpec{meta: owner, noEnd: true})
				var last int64
				for _, ev := range p.Events {
					if ev.Type == journal.TypeBatch || ev.Type == journal.TypeArtifact {
						last = max(last, ev.Time)
					}
				}
				res, err := Deliver(ctx, p, ts.store, Options{})
				if err != nil || res.State != StateDelivered || !strings.Contains(res.Closed, why) {
					t.Fatalf("Deliver = %+v, %v", res, err)
				}
				want.status, want.endTime = mlflowclient.StatusFailed, last
				want.tags[ClosedByTag] = "sync"
				want.tags[ClosedReasonTag] = res.Closed
				run := check(t, ts, want, 0)
				for _, tg := range run.Data.Tags {
					if tg.Key == ClosedReasonTag && !strings.Contains(tg.Value, fmt.Sprintf("mltrack process %d is gone (%s)", owner.PID, why)) {
						t.Errorf("closed reason %q", tg.Value)
					}
				}
				if exists(p.Dir) {
					t.Error("journal kept")
				}
			})
		}
	}
}

// No end event, and the mltrack that records it may still run: while it holds the journal,
// nothing is done; once it released the journal but still runs, what is there is delivered and
// the run stays RUNNING; after its end, the run is completed.
func TestDeliverLeavesLiveRunRunning(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			ts := newTestStore(t, kind)
			p, want, rec := writeJournal(t, t.TempDir(), journalSpec{noEnd: true, keepOpen: true})
			res, err := Deliver(ctx, p, ts.store, Options{})
			if err != nil || res.State != StateLocked || !strings.Contains(res.Note, fmt.Sprintf("still being recorded by mltrack (pid %d)", os.Getpid())) {
				t.Fatalf("Deliver while recording = %+v, %v", res, err)
			}
			if len(ts.runs(t)) != 0 {
				t.Fatal("a locked journal was delivered")
			}
			rec.Close()

			for range 2 { // twice: nothing duplicated
				res, err = Deliver(ctx, reload(t, p.Dir), ts.store, Options{})
				if err != nil || res.State != StateRunning || !strings.Contains(res.Note, "may still be running") {
					t.Fatalf("Deliver of a live run = %+v, %v", res, err)
				}
				running := want
				running.status, running.endTime = mlflowclient.StatusRunning, 0
				check(t, ts, running, 0)
				if !exists(p.Dir) {
					t.Fatal("journal of a running run removed")
				}
			}

			// The recorder ends the run (it writes the end event; here through OpenExisting).
			j, err := journal.OpenExisting(p.Dir)
			if err != nil {
				t.Fatal(err)
			}
			j.Append(journal.TypeEnd, journal.EndData{Status: mlflowclient.StatusFinished, EndTime: want.endTime})
			j.Close()
			res, err = Deliver(ctx, reload(t, p.Dir), ts.store, Options{})
			if err != nil || res.State != StateDelivered {
				t.Fatalf("Deliver after the end = %+v, %v", res, err)
			}
			check(t, ts, want, 0)
		})
	}
}

// Two deliveries of one journal at once: one delivers, the other reports the journal locked.
func TestDeliverConcurrentOneWins(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			ts := newTestStore(t, kind)
			p, want, _ := writeJournal(t, t.TempDir(), journalSpec{})
			entered := make(chan struct{})
			release := make(chan struct{})
			var once sync.Once
			slow := &faultyStore{Store: ts.store, after: func(n int, _ string) {
				if n == 1 {
					once.Do(func() { close(entered) })
					<-release
				}
			}}
			results := make(chan Result, 2)
			go func() {
				res, _ := Deliver(context.Background(), p, slow, Options{})
				results <- res
			}()
			<-entered // the first holds the journal
			res2, err := Deliver(context.Background(), p, ts.store, Options{})
			close(release)
			res1 := <-results
			if err != nil || res2.State != StateLocked || !strings.Contains(res2.Note, "being delivered by another process") {
				t.Fatalf("second Deliver = %+v, %v", res2, err)
			}
			if res1.State != StateDelivered {
				t.Fatalf("first Deliver = %+v", res1)
			}
			check(t, ts, want, 0)
		})
	}
}

// Both at once without arranging who comes first: exactly one run, whatever the order.
func TestDeliverConcurrentRace(t *testing.T) {
	ts := newTestStore(t, "sqlite")
	p, want, _ := writeJournal(t, t.TempDir(), journalSpec{})
	var wg sync.WaitGroup
	states := make(chan State, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, _ := Deliver(context.Background(), p, ts.store, Options{})
			states <- res.State
		}()
	}
	wg.Wait()
	close(states)
	delivered := 0
	for s := range states {
		if s == StateDelivered {
			delivered++
		} else if s != StateLocked {
			t.Errorf("state %s", s)
		}
	}
	if delivered == 0 {
		t.Fatal("nobody delivered")
	}
	check(t, ts, want, 0)
}

// A file that is gone cannot be delivered: warned, acknowledged, and the rest is delivered.
func TestDeliverMissingArtifactFile(t *testing.T) {
	ts := newTestStore(t, "sqlite")
	p, want, _ := writeJournal(t, t.TempDir(), journalSpec{})
	if err := os.Remove(filepath.Join(p.Dir, "files", "logs", "stdout.log")); err != nil {
		t.Fatal(err)
	}
	res, err := Deliver(context.Background(), p, ts.store, Options{})
	if err != nil || res.State != StateDelivered || res.Delivered.Artifacts != 1 {
		t.Fatalf("Deliver = %+v, %v", res, err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "logs/stdout.log cannot be delivered") {
		t.Errorf("warnings = %v", res.Warnings)
	}
	delete(want.artifacts, "logs/stdout.log")
	run := check(t, ts, want, 0)
	if a := artifact(t, run.Info, "logs/stdout.log"); !strings.HasPrefix(a, "<missing") {
		t.Errorf("the replaced first version was uploaded: %q", a)
	}
}

// An artifact location mltrack cannot write (s3://): the artifacts stay in the journal, the rest
// of the run is delivered, and the result says what stays.
func TestDeliverUnsupportedArtifactLocationKeepsArtifacts(t *testing.T) {
	ctx := context.Background()
	ts := newTestStore(t, "sqlite")
	if _, err := mlflowclient.EnsureExperiment(ctx, ts.store, "deliver"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.rawDB(t).Exec("UPDATE experiments SET artifact_location = 's3://bucket/mlflow' WHERE name = 'deliver'"); err != nil {
		t.Fatal(err)
	}
	p, want, _ := writeJournal(t, t.TempDir(), journalSpec{})
	res, err := Deliver(ctx, p, ts.store, Options{})
	if err == nil || res.State != StateFailed || res.Remaining != 2 || !strings.Contains(err.Error(), "stay in the journal") {
		t.Fatalf("Deliver = %+v, %v", res, err)
	}
	want.artifacts = nil
	check(t, ts, want, 0)
	left := reload(t, p.Dir).Undelivered()
	if len(left) != 2 || left[0].Type != journal.TypeArtifact || left[1].Type != journal.TypeArtifact {
		t.Fatalf("left in the journal: %+v", left)
	}
	// Again: still kept, nothing duplicated.
	res, _ = Deliver(ctx, reload(t, p.Dir), ts.store, Options{})
	if res.State != StateFailed || res.Remaining != 2 {
		t.Fatalf("second Deliver = %+v", res)
	}
	check(t, ts, want, 0)
}

// A param logged again with another value is a warning (the first value stays), not a failure.
func TestDeliverParamConflictIsAWarning(t *testing.T) {
	ts := newTestStore(t, "sqlite")
	spool := t.TempDir()
	p, want, _ := writeJournal(t, spool, journalSpec{noEnd: true})
	j, _ := journal.OpenExisting(p.Dir)
	j.Append(journal.TypeBatch, journal.BatchData{Params: []mlflowclient.Param{{Key: "lr", Value: "0.5"}}})
	j.Append(journal.TypeEnd, journal.EndData{Status: mlflowclient.StatusFinished, EndTime: want.endTime})
	j.Close()
	res, err := Deliver(context.Background(), reload(t, p.Dir), ts.store, Options{})
	if err != nil || res.State != StateDelivered {
		t.Fatalf("Deliver = %+v, %v", res, err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "write-once") {
		t.Errorf("warnings = %v", res.Warnings)
	}
	check(t, ts, want, 0)
}

// Thousands of small sampler batches go out merged within MLflow's limits.
func TestDeliverMergesSmallBatches(t *testing.T) {
	ts := newTestStore(t, "sqlite")
	p, want, _ := writeJournal(t, t.TempDir(), journalSpec{extraBatch: 2500})
	counter := &faultyStore{Store: ts.store}
	res, err := Deliver(context.Background(), p, counter, Options{})
	if err != nil || res.State != StateDelivered || res.Delivered.Metrics != 2513 {
		t.Fatalf("Deliver = %+v, %v", res, err)
	}
	if n := counter.callsOf("LogBatch"); n > 6 {
		t.Errorf("%d LogBatch calls for 2503 batch events, want a handful", n)
	}
	check(t, ts, want, 0)
}

// A journal whose mltrack died before recording anything holds no run: it is removed, and no
// run is created.
func TestDeliverEmptyJournalOfGoneOwner(t *testing.T) {
	ts := newTestStore(t, "sqlite")
	r, err := journal.Create(t.TempDir(), journal.Meta{Key: newKey(), PID: deadPID(t)})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	p := reload(t, r.Dir())
	res, err := Deliver(context.Background(), p, ts.store, Options{})
	if err != nil || res.State != StateDelivered || !strings.Contains(res.Note, "nothing was recorded") || exists(p.Dir) {
		t.Fatalf("Deliver = %+v, %v", res, err)
	}
	if len(ts.runs(t)) != 0 {
		t.Fatal("a run was created for an empty journal")
	}
	// The same journal, owner alive: left alone.
	r, _ = journal.Create(t.TempDir(), journal.Meta{Key: newKey()})
	r.Close()
	res, err = Deliver(context.Background(), reload(t, r.Dir()), ts.store, Options{})
	if err != nil || res.State != StateRunning || !exists(r.Dir()) {
		t.Fatalf("Deliver = %+v, %v", res, err)
	}
}

// A run whose experiment was named by id: delivered into that experiment; an id the store lacks
// is a clear failure that keeps the journal.
func TestDeliverExperimentByID(t *testing.T) {
	ctx := context.Background()
	ts := newTestStore(t, "sqlite")
	exp, err := mlflowclient.EnsureExperiment(ctx, ts.store, "by-id")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id      string
		wantErr string
	}{{exp.ID, ""}, {"4242", "experiment id 4242 does not exist"}} {
		r, err := journal.Create(t.TempDir(), journal.Meta{Key: newKey(), ExperimentID: tt.id})
		if err != nil {
			t.Fatal(err)
		}
		r.Append(journal.TypeCreate, journal.CreateData{ExperimentID: tt.id, StartTime: 1})
		r.Append(journal.TypeEnd, journal.EndData{Status: mlflowclient.StatusFinished, EndTime: 2})
		r.Close()
		res, err := Deliver(ctx, reload(t, r.Dir()), ts.store, Options{})
		if tt.wantErr == "" {
			if err != nil || res.State != StateDelivered || res.ExperimentID != exp.ID {
				t.Fatalf("Deliver = %+v, %v", res, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !exists(r.Dir()) {
			t.Fatalf("Deliver = %+v, %v; want %q", res, err, tt.wantErr)
		}
	}
}

// A deleted run is not written to (MLflow refuses), nor silently replaced: a clear error.
func TestDeliverDeletedRun(t *testing.T) {
	ctx := context.Background()
	ts := newTestStore(t, "sqlite")
	p, _, _ := writeJournal(t, t.TempDir(), journalSpec{})
	fs := &faultyStore{Store: ts.store, failAt: 6} // after the run exists
	if res, _ := Deliver(ctx, p, fs, Options{}); res.RunID == "" {
		t.Fatalf("no run created: %+v", res)
	}
	if _, err := ts.rawDB(t).Exec("UPDATE runs SET lifecycle_stage = 'deleted'"); err != nil {
		t.Fatal(err)
	}
	res, err := Deliver(ctx, reload(t, p.Dir), ts.store, Options{})
	if err == nil || !strings.Contains(err.Error(), "mlflow runs restore") || len(ts.runs(t)) != 1 {
		t.Fatalf("Deliver = %+v, %v", res, err)
	}
}

func TestDeliverPendingOnlyForItsStore(t *testing.T) {
	ctx := context.Background()
	ts := newTestStore(t, "sqlite")
	spool := t.TempDir()
	mine, want, _ := writeJournal(t, spool, journalSpec{uri: ts.store.URI()})
	other, _, _ := writeJournal(t, spool, journalSpec{uri: "http://127.0.0.1:1/other"})
	none, _, _ := writeJournal(t, spool, journalSpec{uri: ""})
	results, errs := DeliverPending(ctx, spool, ts.store, Options{})
	if len(errs) != 0 || len(results) != 1 || results[0].Key != mine.Meta.Key || results[0].State != StateDelivered {
		t.Fatalf("DeliverPending = %+v, %v", results, errs)
	}
	check(t, ts, want, 0)
	if !exists(other.Dir) || !exists(none.Dir) {
		t.Fatal("a journal meant for another store was touched")
	}
}

func TestSameDestination(t *testing.T) {
	wd, _ := os.Getwd()
	tests := []struct {
		a, b string
		same bool
	}{
		{"sqlite:////tmp/x/mlflow.db", "sqlite:////tmp/x/mlflow.db", true},
		{"sqlite:////tmp/x/mlflow.db", "sqlite:////tmp/x/../x/mlflow.db", true},
		{"sqlite:////tmp/x/mlflow.db", "sqlite:////tmp/y/mlflow.db", false},
		{"sqlite:///mlflow.db", "sqlite:///" + filepath.ToSlash(filepath.Join(wd, "mlflow.db")), true},
		{"file:///tmp/mlruns", "/tmp/mlruns", true},
		{"file:///tmp/mlruns", "/tmp/mlruns/", true},
		{"file:///tmp/mlruns", "sqlite:////tmp/mlruns", false},
		{"http://Host:5000", "http://host:5000/", true},
		{"http://host", "http://host:80", true},
		{"https://host", "https://user@host:443", true},
		{"http://host:5000", "http://host:5001", false},
		{"http://host:5000/a", "http://host:5000/b", false},
		{"http://host:5000", "https://host:5000", false},
		{"", "http://host", false},
		{"postgresql://db", "postgresql://db2", false},
	}
	for _, tt := range tests {
		if got := SameDestination(tt.a, tt.b); got != tt.same {
			t.Errorf("SameDestination(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
}

// The journal was meant for another store that took part of it already: the delivery to this
// store warns that it gets only the rest.
func TestDeliverElsewhereWarns(t *testing.T) {
	ts := newTestStore(t, "sqlite")
	other := newTestStore(t, "sqlite")
	p, _, _ := writeJournal(t, t.TempDir(), journalSpec{uri: other.store.URI()})
	fs := &faultyStore{Store: other.store, failAt: 7}
	Deliver(context.Background(), p, fs, Options{})
	res, _ := Deliver(context.Background(), reload(t, p.Dir), ts.store, Options{})
	if len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "gets only the part not delivered there") {
		t.Fatalf("warnings = %v", res.Warnings)
	}
}

func TestResultString(t *testing.T) {
	r := Result{Key: "k", RunID: "r", Destination: "sqlite:////x.db", State: StateFailed, Err: errors.New("boom"), Closed: "gone"}
	if s := r.String(); s != "run k (MLflow run r): not delivered to sqlite:////x.db: boom; closed as FAILED: gone" {
		t.Errorf("String() = %q", s)
	}
	r = Result{Key: "k", State: StateLocked, Note: "being delivered by another process"}
	if s := r.String(); s != "run k: skipped (being delivered by another process)" {
		t.Errorf("String() = %q", s)
	}
	_ = time.Now
}

// A recorder killed mid-run leaves its logs in the journal without artifact events: closing its
// run stores them too (their path under files/ is their artifact path), and the run ends no
// earlier than the last time the logs were written.
func TestDeliverGoneOwnerSalvagesLogs(t *testing.T) {
	dead := deadPID(t)
	for _, withCreate := range []bool{true, false} {
		t.Run(fmt.Sprintf("create-event=%v", withCreate), func(t *testing.T) {
			ts := newTestStore(t, "sqlite")
			r, err := journal.Create(t.TempDir(), journal.Meta{Key: newKey(), PID: dead, Experiment: "killed", Created: time.UnixMilli(1_700_000_000_000)})
			if err != nil {
				t.Fatal(err)
			}
			if withCreate {
				r.Append(journal.TypeCreate, journal.CreateData{Experiment: "killed", RunName: "k", StartTime: 1_700_000_000_000})
				r.Append(journal.TypeBatch, journal.BatchData{Metrics: []mlflowclient.Metric{{Key: "m", Value: 1, Timestamp: 1_700_000_000_000}}})
			}
			logs := filepath.Join(r.FilesDir(), "logs")
			os.MkdirAll(logs, 0o700)
			os.WriteFile(filepath.Join(logs, "stdout.log"), []byte("up to the kill\n"), 0o600)
			os.WriteFile(filepath.Join(logs, ".partial"), []byte("temp"), 0o600)
			later := time.Now().Add(time.Hour).Truncate(time.Second)
			os.Chtimes(filepath.Join(logs, "stdout.log"), later, later)
			r.Close()
			res, err := Deliver(context.Background(), reload(t, r.Dir()), ts.store, Options{})
			if err != nil || res.State != StateDelivered || res.Delivered.Artifacts != 1 || res.Closed == "" {
				t.Fatalf("Deliver = %+v, %v", res, err)
			}
			run, err := ts.store.GetRun(context.Background(), res.RunID)
			if err != nil {
				t.Fatal(err)
			}
			if run.Info.Status != mlflowclient.StatusFailed || run.Info.EndTime != later.UnixMilli() {
				t.Errorf("run %+v, want FAILED at %d", run.Info, later.UnixMilli())
			}
			if a := artifact(t, run.Info, "logs/stdout.log"); a != "up to the kill\n" {
				t.Errorf("log artifact = %q", a)
			}
			if a := artifact(t, run.Info, "logs/.partial"); !strings.HasPrefix(a, "<missing") {
				t.Errorf("hidden temp file stored: %q", a)
			}
		})
	}
}
