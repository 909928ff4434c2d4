// Package journal keeps each run on local disk while it happens, so that nothing is lost when the
// tracking store is slow, down or unwritable. A run's journal is a directory under the spool
// directory holding a header (meta.json), an append-only event log (events.jsonl) and the files that
// belong to the run (logs, copies of produced outputs). Events are appended as they happen, without
// an fsync per event: a crash of mltrack loses at most what the kernel had not written, never the
// file. Delivered events are acknowledged in the same log, so that a later delivery resumes after the
// last acknowledged event and never sends one twice.
//
// A run fully delivered is removed. What stays is pending, and `mltrack sync` delivers it.
package journal

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// FormatVersion is written in every header; readers refuse a newer format with a clear message.
const FormatVersion = 1

const (
	metaFile   = "meta.json"
	eventsFile = "events.jsonl"
	filesDir   = "files"
)

// Meta is the header of a run's journal. It holds no secrets: the tracking URI is stored without
// credentials (delivery takes credentials from the environment of whoever delivers).
type Meta struct {
	Version      int       `json:"version"`
	Key          string    `json:"key"`           // client-generated, unique; the idempotency key of the run
	TrackingURI  string    `json:"tracking_uri"`  // credentials removed
	Experiment   string    `json:"experiment"`    // name, when chosen by name
	ExperimentID string    `json:"experiment_id"` // when chosen by id, or once resolved
	Created      time.Time `json:"created"`
	// The process that owns the run while it is being recorded: a run is only closed by someone else
	// when this process is provably gone (another boot, or no process with this pid and start time).
	PID          int    `json:"pid"`
	PIDStartTime uint64 `json:"pid_start_time,omitempty"`
	BootID       string `json:"boot_id,omitempty"`
}

// Event is one entry of the event log. Seq numbers start at 1 and increase by one.
type Event struct {
	Seq  int64           `json:"seq"`
	Type string          `json:"type"`
	Time int64           `json:"time"` // ms since the epoch
	Data json.RawMessage `json:"data,omitempty"`
}

// Event types.
const (
	TypeCreate   = "create"   // data: the run as created (experiment, run name, start time, tags, params)
	TypeRunID    = "run_id"   // data: {"run_id": "..."} once the store created the run
	TypeBatch    = "batch"    // data: {"metrics": [...], "params": [...], "tags": [...]}
	TypeArtifact = "artifact" // data: {"file": "files/...", "artifact_path": "..."}
	TypeEnd      = "end"      // data: {"status": "...", "end_time": ...}
	TypeAck      = "ack"      // data: {"seq": N}: every event up to N was delivered
)

// Run is an open journal, written by the process that records the run. Methods are safe for
// concurrent use.
type Run struct {
	dir string
	mu  sync.Mutex
	f   *os.File
	w   *bufio.Writer
	seq int64
	err error // the first write error; later appends are dropped (the store may still get them)
}

// DefaultDir returns the spool directory: $MLTRACK_SPOOL_DIR when given, else the user's state
// directory ($XDG_STATE_HOME/mltrack/spool, ~/.local/state/mltrack/spool; on Windows
// %LocalAppData%\mltrack\spool). The values come from the caller, which owns the environment.
func DefaultDir(spoolDirEnv, xdgStateHome, home, localAppData string) string {
	switch {
	case spoolDirEnv != "":
		return spoolDirEnv
	case xdgStateHome != "":
		return filepath.Join(xdgStateHome, "mltrack", "spool")
	case localAppData != "":
		return filepath.Join(localAppData, "mltrack", "spool")
	case home != "":
		return filepath.Join(home, ".local", "state", "mltrack", "spool")
	}
	return filepath.Join(os.TempDir(), "mltrack-spool")
}

// Create starts the journal of a new run in spoolDir, with private permissions.
func Create(spoolDir string, meta Meta) (*Run, error) {
	if meta.Key == "" {
		return nil, errors.New("journal: run key is empty")
	}
	meta.Version = FormatVersion
	dir := filepath.Join(spoolDir, meta.Key)
	if err := os.MkdirAll(filepath.Join(dir, filesDir), 0o700); err != nil {
		return nil, fmt.Errorf("create journal in %s: %w", spoolDir, err)
	}
	_ = os.Chmod(spoolDir, 0o700)
	if err := writeJSONAtomic(filepath.Join(dir, metaFile), meta); err != nil {
		return nil, fmt.Errorf("create journal in %s: %w", spoolDir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, eventsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create journal in %s: %w", spoolDir, err)
	}
	return &Run{dir: dir, f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// Dir is the journal's directory.
func (r *Run) Dir() string { return r.dir }

// FilesDir is where files that belong to the run are kept (logs, copies of outputs).
func (r *Run) FilesDir() string { return filepath.Join(r.dir, filesDir) }

// Append writes one event and returns its sequence number. data is marshalled to JSON.
func (r *Run) Append(typ string, data any) (int64, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return 0, fmt.Errorf("journal %s event: %w", typ, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	ev := Event{Seq: r.seq, Type: typ, Time: time.Now().UnixMilli(), Data: raw}
	if r.err != nil {
		return ev.Seq, r.err
	}
	line, _ := json.Marshal(ev)
	line = append(line, '\n')
	if _, err := r.w.Write(line); err != nil {
		r.err = fmt.Errorf("write journal %s: %w", r.dir, err)
	}
	return ev.Seq, r.err
}

// Ack records that every event up to seq was delivered.
func (r *Run) Ack(seq int64) error {
	_, err := r.Append(TypeAck, map[string]int64{"seq": seq})
	return err
}

// Flush hands buffered events to the kernel. It is called at the points where a crash would
// otherwise lose the most (after the run was created, after each sampling batch, at the end).
func (r *Run) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil || r.w == nil {
		return r.err
	}
	if err := r.w.Flush(); err != nil {
		r.err = fmt.Errorf("write journal %s: %w", r.dir, err)
	}
	return r.err
}

// Close flushes and closes the event log, keeping the journal on disk.
func (r *Run) Close() error {
	ferr := r.Flush()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return ferr
	}
	cerr := r.f.Close()
	r.f, r.w = nil, nil
	if ferr != nil {
		return ferr
	}
	return cerr
}

// Remove deletes the journal: the run was fully delivered.
func (r *Run) Remove() error {
	_ = r.Close()
	return os.RemoveAll(r.dir)
}

// Remove deletes a pending run's journal once it was delivered.
func (p Pending) Remove() error { return os.RemoveAll(p.Dir) }

// Pending is a run left in the spool directory.
type Pending struct {
	Dir    string
	Meta   Meta
	Events []Event // every event, acknowledgements included
	Acked  int64   // highest acknowledged sequence number
}

// Undelivered returns the events after the last acknowledgement, without acknowledgements.
func (p Pending) Undelivered() []Event {
	var out []Event
	for _, ev := range p.Events {
		if ev.Seq > p.Acked && ev.Type != TypeAck {
			out = append(out, ev)
		}
	}
	return out
}

// Ended reports whether the run's end was recorded.
func (p Pending) Ended() bool {
	for _, ev := range p.Events {
		if ev.Type == TypeEnd {
			return true
		}
	}
	return false
}

// List reads every run journal in spoolDir, oldest first. A journal that cannot be read is reported
// in the error list and skipped; nothing is deleted.
func List(spoolDir string) ([]Pending, []error) {
	entries, err := os.ReadDir(spoolDir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, []error{fmt.Errorf("read spool directory: %w", err)}
	}
	var out []Pending
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p, err := Load(filepath.Join(spoolDir, e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Meta.Created.Before(out[j].Meta.Created) })
	return out, errs
}

// Load reads one run's journal. A torn last line (mltrack killed mid-write) is ignored.
func Load(dir string) (Pending, error) {
	p := Pending{Dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return p, fmt.Errorf("journal %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &p.Meta); err != nil {
		return p, fmt.Errorf("journal %s: header is not valid JSON: %w", dir, err)
	}
	if p.Meta.Version > FormatVersion {
		return p, fmt.Errorf("journal %s was written by a newer mltrack (format %d); deliver it with that version", dir, p.Meta.Version)
	}
	f, err := os.Open(filepath.Join(dir, eventsFile))
	if err != nil {
		return p, fmt.Errorf("journal %s: %w", dir, err)
	}
	defer f.Close()
	p.Events, p.Acked, err = readEvents(f)
	if err != nil {
		return p, fmt.Errorf("journal %s: %w", dir, err)
	}
	return p, nil
}

// readEvents parses an event log. Lines that do not parse are skipped only at the end of the file
// (a torn write); a bad line in the middle is an error, since skipping it could lose data silently.
func readEvents(r io.Reader) ([]Event, int64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var events []Event
	var acked int64
	var bad int
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			if bad == 0 {
				bad = line
			}
			continue
		}
		if bad != 0 {
			return nil, 0, fmt.Errorf("event log line %d is corrupt", bad)
		}
		if ev.Type == TypeAck {
			var a struct{ Seq int64 }
			if json.Unmarshal(ev.Data, &a) == nil && a.Seq > acked {
				acked = a.Seq
			}
		}
		events = append(events, ev)
	}
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	return events, acked, nil
}

func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
