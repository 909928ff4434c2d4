package journal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAppendLoadAck(t *testing.T) {
	spool := t.TempDir()
	r, err := Create(spool, Meta{Key: "k1", TrackingURI: "sqlite:////x.db", Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := r.Append(TypeCreate, map[string]string{"run_name": "a"})
	s2, _ := r.Append(TypeBatch, map[string]any{"metrics": []int{1}})
	if err := r.Ack(s1); err != nil {
		t.Fatal(err)
	}
	s4, _ := r.Append(TypeEnd, map[string]string{"status": "FINISHED"})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if s1 != 1 || s2 != 2 || s4 != 4 {
		t.Fatalf("seqs = %d %d %d", s1, s2, s4)
	}
	p, err := Load(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if p.Acked != 1 || len(p.Events) != 4 || !p.Ended() {
		t.Fatalf("loaded %+v", p)
	}
	und := p.Undelivered()
	if len(und) != 2 || und[0].Type != TypeBatch || und[1].Type != TypeEnd {
		t.Fatalf("undelivered = %+v", und)
	}
	fi, err := os.Stat(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("journal dir mode = %v, want 0700", fi.Mode().Perm())
	}
}

func TestTornLastLineIgnoredButCorruptMiddleRefused(t *testing.T) {
	good := `{"seq":1,"type":"create","time":1}` + "\n"
	tests := []struct {
		name    string
		content string
		events  int
		wantErr bool
	}{
		{"torn tail", good + `{"seq":2,"ty`, 1, false},
		{"corrupt middle", good + "garbage\n" + `{"seq":3,"type":"end","time":1}` + "\n", 0, true},
		{"empty", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, _, err := readEvents(strings.NewReader(tt.content))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if len(ev) != tt.events {
				t.Fatalf("events = %d, want %d", len(ev), tt.events)
			}
		})
	}
}

func TestListOldestFirstAndRemove(t *testing.T) {
	spool := t.TempDir()
	now := time.Now()
	for i, k := range []string{"b", "a"} {
		r, err := Create(spool, Meta{Key: k, Created: now.Add(time.Duration(i) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	if err := os.WriteFile(filepath.Join(spool, "stray-file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ps, errs := List(spool)
	if len(errs) != 0 || len(ps) != 2 || ps[0].Meta.Key != "b" {
		t.Fatalf("list = %+v errs %v", ps, errs)
	}
	if err := ps[0].Remove(); err != nil {
		t.Fatal(err)
	}
	ps, _ = List(spool)
	if len(ps) != 1 {
		t.Fatalf("after remove: %d", len(ps))
	}
}

func TestNewerFormatRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "k")
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, metaFile), []byte(`{"version": 99, "key": "k"}`), 0o600)
	os.WriteFile(filepath.Join(dir, eventsFile), nil, 0o600)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "newer mltrack") {
		t.Fatalf("err = %v", err)
	}
}

func FuzzReadEvents(f *testing.F) {
	f.Add(`{"seq":1,"type":"create","time":1}` + "\n" + `{"seq":2,"type":"ack","data":{"seq":1}}`)
	f.Add("garbage\n\n{")
	f.Fuzz(func(t *testing.T, s string) {
		ev, acked, err := readEvents(strings.NewReader(s))
		if err == nil && acked < 0 {
			t.Fatalf("negative ack %d", acked)
		}
		_ = ev
	})
}
