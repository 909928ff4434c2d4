package journal

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mltrack/mltrack/mlflowclient"
)

// Acknowledgements are per event: an ack of a later event says nothing about an earlier one.
func TestAcksArePerEvent(t *testing.T) {
	spool := t.TempDir()
	r, err := Create(spool, Meta{Key: "acks"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := r.Append(TypeCreate, CreateData{RunName: "x"})
	r.Append(TypeRunID, RunIDData{RunID: "r1", ExperimentID: "0"})
	r.Ack(c)
	a1, _ := r.Append(TypeArtifact, ArtifactData{File: "files/a", ArtifactPath: "a"}) // refused by the store
	a2, _ := r.Append(TypeArtifact, ArtifactData{File: "files/b", ArtifactPath: "b"})
	r.Ack(a2)
	e, _ := r.Append(TypeEnd, EndData{Status: mlflowclient.StatusFinished, EndTime: 5})
	r.Ack(e)
	r.Close()
	p, err := Load(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	und := p.Undelivered()
	if len(und) != 1 || und[0].Seq != a1 {
		t.Fatalf("undelivered = %+v, want only the refused artifact %d", und, a1)
	}
	if p.Delivered() {
		t.Fatal("Delivered with an artifact left")
	}
	if p.Acked != e {
		t.Fatalf("Acked = %d, want highest %d", p.Acked, e)
	}
}

func TestOpenExistingContinuesNumbering(t *testing.T) {
	spool := t.TempDir()
	r, err := Create(spool, Meta{Key: "cont"})
	if err != nil {
		t.Fatal(err)
	}
	r.Append(TypeCreate, CreateData{})
	r.Append(TypeBatch, BatchData{})
	r.Close()
	j, err := OpenExisting(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := j.Append(TypeEnd, EndData{Status: mlflowclient.StatusFinished}); s != 3 {
		t.Fatalf("seq = %d, want 3", s)
	}
	if err := j.Ack(3); err != nil {
		t.Fatal(err)
	}
	p, err := j.Load()
	if err != nil || len(p.Events) != 4 || !p.AckedSeqs()[3] {
		t.Fatalf("load %+v %v", p, err)
	}
	j.Close()
}

// A torn last line (the writer was killed mid-write) is cut before appending; a complete last
// event missing only its newline is kept.
func TestOpenExistingRepairsTail(t *testing.T) {
	good := `{"seq":1,"type":"create","time":1}` + "\n" + `{"seq":2,"type":"batch","time":2}`
	tests := []struct {
		name     string
		content  string
		wantSeqs []int64
	}{
		{"torn", good + "\n" + `{"seq":3,"ty`, []int64{1, 2, 3}},
		{"complete without newline", good, []int64{1, 2, 3}},
		{"only a torn line", `{"se`, []int64{1}},
		{"empty", "", []int64{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "k")
			os.MkdirAll(dir, 0o700)
			os.WriteFile(filepath.Join(dir, metaFile), []byte(`{"version":1,"key":"k"}`), 0o600)
			os.WriteFile(filepath.Join(dir, eventsFile), []byte(tt.content), 0o600)
			j, err := OpenExisting(dir)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := j.Append(TypeEnd, EndData{Status: mlflowclient.StatusFailed}); err != nil {
				t.Fatal(err)
			}
			j.Close()
			p, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []int64
			for _, ev := range p.Events {
				seqs = append(seqs, ev.Seq)
			}
			if !reflect.DeepEqual(seqs, tt.wantSeqs) {
				t.Fatalf("seqs = %v, want %v", seqs, tt.wantSeqs)
			}
		})
	}
}

func FuzzRepairTail(f *testing.F) {
	f.Add(`{"seq":1,"type":"create","time":1}` + "\n" + `{"seq":2,"ty`)
	f.Add(`{"seq":1,"type":"create","time":1}`)
	f.Add("\n\n{")
	f.Fuzz(func(t *testing.T, content string) {
		before, _, errBefore := readEvents(strings.NewReader(content))
		path := filepath.Join(t.TempDir(), eventsFile)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := repairTail(path); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		if len(b) > 0 && b[len(b)-1] != '\n' {
			t.Fatalf("repaired log does not end with a newline: %q", b)
		}
		// Appending a line after the repair never makes the log unreadable when it was readable,
		// and keeps every event that was read before.
		b = append(b, []byte(`{"seq":99,"type":"end","time":1}`+"\n")...)
		after, _, err := readEvents(strings.NewReader(string(b)))
		if errBefore == nil {
			if err != nil {
				t.Fatalf("readable before, not after: %v", err)
			}
			if len(after) != len(before)+1 {
				t.Fatalf("%d events before, %d after appending one", len(before), len(after))
			}
		}
	})
}

func TestBatchDataNonFiniteRoundTrip(t *testing.T) {
	in := BatchData{
		Metrics: []mlflowclient.Metric{
			{Key: "nan", Value: math.NaN(), Timestamp: 1, Step: 2},
			{Key: "inf", Value: math.Inf(1)},
			{Key: "ninf", Value: math.Inf(-1)},
			{Key: "x", Value: 0.1, Timestamp: 3, Step: 4},
			{Key: "big", Value: 1e300},
		},
		Params: []mlflowclient.Param{{Key: "p", Value: "v"}},
		Tags:   []mlflowclient.Tag{{Key: "t", Value: "w"}},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out BatchData
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(out.Metrics[0].Value) || !math.IsInf(out.Metrics[1].Value, 1) || !math.IsInf(out.Metrics[2].Value, -1) ||
		out.Metrics[3] != in.Metrics[3] || out.Metrics[4] != in.Metrics[4] || out.Metrics[0].Step != 2 ||
		!reflect.DeepEqual(out.Params, in.Params) || !reflect.DeepEqual(out.Tags, in.Tags) {
		t.Fatalf("round trip: %s -> %+v", b, out)
	}
	// What the recorder wrote before BatchData (plain numbers) reads the same.
	var old BatchData
	if err := json.Unmarshal([]byte(`{"metrics":[{"key":"m","value":1.5,"timestamp":1,"step":0}]}`), &old); err != nil || old.Metrics[0].Value != 1.5 {
		t.Fatalf("plain numbers: %+v %v", old, err)
	}
	for _, bad := range []string{`{"metrics":[{"key":"m","value":"1.5"}]}`, `{"metrics":[{"key":"m"}]}`, `{"metrics":[{"key":"m","value":true}]}`} {
		if err := json.Unmarshal([]byte(bad), &old); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func FuzzBatchData(f *testing.F) {
	f.Add(`{"metrics":[{"key":"m","value":"NaN","timestamp":1,"step":0}],"params":[{"key":"p","value":"v"}]}`)
	f.Add(`{"metrics":[{"key":"m","value":1e308}]}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, s string) {
		var b BatchData
		if json.Unmarshal([]byte(s), &b) != nil {
			return
		}
		// Whatever was read is written and read back the same.
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("marshal %+v: %v", b, err)
		}
		var again BatchData
		if err := json.Unmarshal(enc, &again); err != nil {
			t.Fatalf("re-read %s: %v", enc, err)
		}
		if len(again.Metrics) != len(b.Metrics) || len(again.Params) != len(b.Params) || len(again.Tags) != len(b.Tags) {
			t.Fatalf("round trip changed sizes: %s", enc)
		}
		for i := range b.Metrics {
			x, y := b.Metrics[i], again.Metrics[i]
			if x.Key != y.Key || x.Step != y.Step || x.Timestamp != y.Timestamp || (x.Value != y.Value && !(math.IsNaN(x.Value) && math.IsNaN(y.Value))) {
				t.Fatalf("metric %d: %+v != %+v", i, x, y)
			}
		}
	})
}

func TestListSkipsJournalsBeingCreated(t *testing.T) {
	spool := t.TempDir()
	os.MkdirAll(filepath.Join(spool, "creating", filesDir), 0o700)
	os.MkdirAll(filepath.Join(spool, removedPrefix+"x-1"), 0o700)
	ps, errs := List(spool)
	if len(ps) != 0 || len(errs) != 0 {
		t.Fatalf("List = %+v, %v", ps, errs)
	}
	// A header missing while events exist is an error, not something to skip silently.
	os.WriteFile(filepath.Join(spool, "creating", eventsFile), []byte(`{"seq":1,"type":"create","time":1}`+"\n"), 0o600)
	if _, errs := List(spool); len(errs) != 1 {
		t.Fatalf("errs = %v", errs)
	}
}

func TestCreateRefusesBadKeysAndExistingJournals(t *testing.T) {
	spool := t.TempDir()
	for _, k := range []string{"", ".hidden", "a/b", `a\b`, "..", "c:d"} {
		if _, err := Create(spool, Meta{Key: k}); err == nil {
			t.Errorf("key %q accepted", k)
		}
	}
	r, err := Create(spool, Meta{Key: "dup"})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := Create(spool, Meta{Key: "dup"}); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Fatalf("second Create: %v", err)
	}
}
