// Package journal keeps each run on local disk while it happens, so that nothing is lost when the
// tracking store is slow, down or unwritable. A run's journal is a directory under the spool
// directory holding a header (meta.json), an append-only event log (events.jsonl) and the files that
// belong to the run (logs, copies of produced outputs). Events are appended as they happen, without
// an fsync per event: a crash of mltrack loses at most what the kernel had not written, never the
// file. Delivered events are acknowledged in the same log, one acknowledgement per delivered event,
// so that a later delivery resumes with the events not acknowledged yet and never sends one twice.
//
// One process at a time works on a journal: the recording mltrack holds an OS file lock on it from
// Create to Close (or Remove), and a delivery holds it from OpenExisting to Close (see lock.go). A
// journal someone else holds is left alone.
//
// A run fully delivered is removed. What stays is pending, and `mltrack sync` delivers it.
package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mltrack/mltrack/mlflowclient"
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
	// PIDStartTime is the process's start time as CurrentOwner reports it (Linux: clock ticks after
	// boot; elsewhere milliseconds since the epoch); BootID identifies the boot; Host is the host
	// name, so that a spool directory shared between machines is never judged by the wrong one.
	// Create fills them in for the creating process when they are empty.
	PID          int    `json:"pid"`
	PIDStartTime uint64 `json:"pid_start_time,omitempty"`
	BootID       string `json:"boot_id,omitempty"`
	Host         string `json:"host,omitempty"`
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
	TypeCreate   = "create"   // data: CreateData, the run as created (experiment, run name, start time, tags, params)
	TypeRunID    = "run_id"   // data: RunIDData, once the store created (or a delivery found) the run
	TypeBatch    = "batch"    // data: BatchData, metrics, params and tags
	TypeArtifact = "artifact" // data: ArtifactData, a file to store as an artifact
	TypeEnd      = "end"      // data: EndData, the final status and end time
	// TypeAck acknowledges one event: data AckData {"seq": N} says that event N was delivered. It
	// says nothing about the events before N (a file the store refused may sit between two that it
	// took). A run_id event records the outcome of a delivery and needs no acknowledgement.
	TypeAck = "ack"
)

// CreateData is the data of a create event.
type CreateData struct {
	ExperimentID string               `json:"experiment_id"`
	Experiment   string               `json:"experiment,omitempty"`
	RunName      string               `json:"run_name,omitempty"`
	UserID       string               `json:"user_id,omitempty"`
	StartTime    int64                `json:"start_time"`
	Tags         []mlflowclient.Tag   `json:"tags,omitempty"`
	Params       []mlflowclient.Param `json:"params,omitempty"`
}

// RunIDData is the data of a run_id event: the run in the store. The last run_id event wins.
type RunIDData struct {
	RunID        string `json:"run_id"`
	ExperimentID string `json:"experiment_id"`
}

// BatchData is the data of a batch event. Metric values that JSON cannot hold (NaN, ±Inf) are
// written as the strings "NaN", "Infinity" and "-Infinity" (see MarshalJSON).
type BatchData struct {
	Metrics []mlflowclient.Metric `json:"metrics,omitempty"`
	Params  []mlflowclient.Param  `json:"params,omitempty"`
	Tags    []mlflowclient.Tag    `json:"tags,omitempty"`
}

// ArtifactData is the data of an artifact event. File is the local file: an absolute path, or a
// path relative to the journal's directory. For one artifact path, the last event wins.
type ArtifactData struct {
	File         string `json:"file"`
	ArtifactPath string `json:"artifact_path"`
}

// EndData is the data of an end event.
type EndData struct {
	Status  mlflowclient.RunStatus `json:"status"`
	EndTime int64                  `json:"end_time"` // ms since the epoch
}

// jsonMetric is a metric as the journal writes it: the value is a JSON number, or one of the
// strings "NaN", "Infinity", "-Infinity" (JSON has no numbers for them).
type jsonMetric struct {
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	Timestamp int64           `json:"timestamp"`
	Step      int64           `json:"step"`
}

// MarshalJSON writes the batch, with non-finite metric values as strings.
func (b BatchData) MarshalJSON() ([]byte, error) {
	out := struct {
		Metrics []jsonMetric         `json:"metrics,omitempty"`
		Params  []mlflowclient.Param `json:"params,omitempty"`
		Tags    []mlflowclient.Tag   `json:"tags,omitempty"`
	}{Params: b.Params, Tags: b.Tags}
	for _, m := range b.Metrics {
		var v []byte
		switch {
		case math.IsNaN(m.Value):
			v = []byte(`"NaN"`)
		case math.IsInf(m.Value, 1):
			v = []byte(`"Infinity"`)
		case math.IsInf(m.Value, -1):
			v = []byte(`"-Infinity"`)
		default:
			v = strconv.AppendFloat(nil, m.Value, 'g', -1, 64)
		}
		out.Metrics = append(out.Metrics, jsonMetric{Key: m.Key, Value: v, Timestamp: m.Timestamp, Step: m.Step})
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads a batch written by MarshalJSON (or with plain numbers only).
func (b *BatchData) UnmarshalJSON(data []byte) error {
	var in struct {
		Metrics []jsonMetric         `json:"metrics"`
		Params  []mlflowclient.Param `json:"params"`
		Tags    []mlflowclient.Tag   `json:"tags"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	out := BatchData{Params: in.Params, Tags: in.Tags}
	for _, m := range in.Metrics {
		v, err := parseMetricValue(m.Value)
		if err != nil {
			return fmt.Errorf("metric %q: %w", m.Key, err)
		}
		out.Metrics = append(out.Metrics, mlflowclient.Metric{Key: m.Key, Value: v, Timestamp: m.Timestamp, Step: m.Step})
	}
	*b = out
	return nil
}

func parseMetricValue(raw json.RawMessage) (float64, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, fmt.Errorf("value %s is not a number", strconv.Quote(string(raw)))
	}
	return f, nil
}

// AckData is the data of an ack event.
type AckData struct {
	Seq int64 `json:"seq"`
}

// Run is an open journal, written by the process that records the run. Methods are safe for
// concurrent use.
type Run struct {
	dir string
	mu  sync.Mutex
	f   *os.File
	w   *bufio.Writer
	seq int64
	err error // the first write error; later appends are dropped (the store may still get them)

	lock *dirLock // held from Create or OpenExisting until Close or Remove
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

// Create starts the journal of a new run in spoolDir, with private permissions, and locks it: the
// caller (the recording mltrack) holds the journal until Close or Remove, so that no delivery
// works on it while it is being written. Owner fields left empty in meta (PID 0 or this process's
// pid) are filled in for this process (see CurrentOwner).
func Create(spoolDir string, meta Meta) (*Run, error) {
	if err := checkKey(meta.Key); err != nil {
		return nil, err
	}
	meta.Version = FormatVersion
	fillOwner(&meta)
	dir := filepath.Join(spoolDir, meta.Key)
	if err := os.MkdirAll(filepath.Join(dir, filesDir), 0o700); err != nil {
		return nil, fmt.Errorf("create journal in %s: %w", spoolDir, err)
	}
	_ = os.Chmod(spoolDir, 0o700)
	// The lock comes before the header: a journal without a header is one being created, and
	// List skips it.
	lk, err := lockDir(dir, createLockWait, RoleRecording)
	if err != nil {
		return nil, fmt.Errorf("create journal in %s: %w", spoolDir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, eventsFile)); err == nil {
		lk.release()
		return nil, fmt.Errorf("create journal in %s: a journal with key %s exists already", spoolDir, meta.Key)
	}
	if err := writeJSONAtomic(filepath.Join(dir, metaFile), meta); err != nil {
		lk.release()
		return nil, fmt.Errorf("create journal in %s: %w", spoolDir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, eventsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		lk.release()
		return nil, fmt.Errorf("create journal in %s: %w", spoolDir, err)
	}
	return &Run{dir: dir, f: f, w: bufio.NewWriterSize(f, 64<<10), lock: lk}, nil
}

// checkKey refuses keys that would not name one directory inside the spool directory.
func checkKey(key string) error {
	if key == "" {
		return errors.New("journal: run key is empty")
	}
	if strings.HasPrefix(key, ".") || strings.ContainsAny(key, `/\:`) || len(key) > 200 {
		return fmt.Errorf("journal: run key %q cannot name a directory (no '.' at the start, no '/', '\\' or ':')", key)
	}
	return nil
}

// OpenExisting opens the journal in dir to append to it (a delivery acknowledges events and
// records the run it found). It takes the journal's lock without waiting: a journal that another
// process holds (the mltrack recording it, or another delivery) yields an error matching ErrLocked
// (a *LockedError saying who). Numbering continues after the last event; a torn last line (the
// writer died mid-write) is cut off first, so that appended events never follow half a line.
// A journal removed meanwhile yields an error matching fs.ErrNotExist.
func OpenExisting(dir string) (*Run, error) {
	if _, err := os.Stat(filepath.Join(dir, metaFile)); err != nil {
		return nil, fmt.Errorf("journal %s: %w", dir, err)
	}
	lk, err := lockDir(dir, openLockWait, RoleDelivering)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Run, error) {
		lk.release()
		return nil, err
	}
	// Removed between the check and the lock (a delivery that finished).
	if _, err := os.Stat(filepath.Join(dir, metaFile)); err != nil {
		return fail(fmt.Errorf("journal %s: %w", dir, err))
	}
	path := filepath.Join(dir, eventsFile)
	if err := repairTail(path); err != nil {
		return fail(fmt.Errorf("journal %s: %w", dir, err))
	}
	p, err := Load(dir)
	if err != nil {
		return fail(err)
	}
	var seq int64
	for _, ev := range p.Events {
		seq = max(seq, ev.Seq)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fail(fmt.Errorf("journal %s: %w", dir, err))
	}
	return &Run{dir: dir, f: f, w: bufio.NewWriterSize(f, 64<<10), seq: seq, lock: lk}, nil
}

// repairTail makes the event log end with its last readable event and a newline: lines after it
// that do not parse (a write torn by a crash: readEvents ignores them at the end of the log) are
// cut off, so that appended events never follow them, and a last event missing only its newline
// gets it.
func repairTail(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	var off, keep int64 // keep: the end of the last readable event, its newline included
	newline := true     // whether the line ending at keep has its newline
	for {
		line, err := r.ReadBytes('\n')
		off += int64(len(line))
		content := bytes.TrimRight(line, "\r\n")
		var ev Event
		if len(content) > 0 && json.Unmarshal(content, &ev) == nil {
			keep, newline = off, len(line) > 0 && line[len(line)-1] == '\n'
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if keep < off {
		if err := f.Truncate(keep); err != nil {
			return err
		}
	}
	if !newline {
		_, err = f.WriteAt([]byte{'\n'}, keep)
	}
	return err
}

// Dir is the journal's directory.
func (r *Run) Dir() string { return r.dir }

// LockWarning is non-empty when the journal's lock could not be an OS lock (a file system without
// locks): it then only keeps holders within this process apart.
func (r *Run) LockWarning() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lock == nil {
		return ""
	}
	return r.lock.warning
}

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

// Ack records that event seq was delivered.
func (r *Run) Ack(seq int64) error {
	_, err := r.Append(TypeAck, AckData{Seq: seq})
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

// Sync flushes and asks the kernel to put the event log on disk (used after the events a restart
// must not lose, such as the run id a delivery created).
func (r *Run) Sync() error {
	if err := r.Flush(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	return r.f.Sync()
}

// Load reads the journal as it is now, including what this Run appended.
func (r *Run) Load() (Pending, error) {
	if err := r.Flush(); err != nil {
		return Pending{Dir: r.dir}, err
	}
	return Load(r.dir)
}

// Close flushes and closes the event log, keeping the journal on disk, and releases its lock.
func (r *Run) Close() error {
	err := r.closeLog()
	r.mu.Lock()
	lk := r.lock
	r.lock = nil
	r.mu.Unlock()
	if lk != nil {
		lk.release()
	}
	return err
}

func (r *Run) closeLog() error {
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

// Remove deletes the journal (the run was fully delivered) and releases its lock. The directory
// is first renamed to a hidden name while the lock is still held (where the platform allows it),
// so that no other process ever opens a journal half removed.
func (r *Run) Remove() error {
	_ = r.closeLog()
	r.mu.Lock()
	lk := r.lock
	r.lock = nil
	r.mu.Unlock()
	return removeJournalDir(r.dir, lk)
}

// Remove deletes a pending run's journal once it was delivered. The caller should hold the
// journal (OpenExisting); Run.Remove is the way to do both.
func (p Pending) Remove() error { return removeJournalDir(p.Dir, nil) }

// removedPrefix names journals being removed; List skips them (hidden) and Prune finishes them.
const removedPrefix = ".removed-"

// removeJournalDir renames dir out of the way and removes it. lk (may be nil) is released after the
// rename, or before it where an open file keeps a directory from being renamed (Windows).
func removeJournalDir(dir string, lk *dirLock) error {
	if lk != nil && lockBlocksRename {
		lk.release()
		lk = nil
	}
	target := dir
	tomb := filepath.Join(filepath.Dir(dir), removedPrefix+filepath.Base(dir)+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.Rename(dir, tomb); err == nil {
		target = tomb
	} else if errors.Is(err, os.ErrNotExist) {
		if lk != nil {
			lk.release()
		}
		return nil // removed by someone else
	}
	if lk != nil {
		lk.release()
	}
	return os.RemoveAll(target)
}

// Pending is a run left in the spool directory.
type Pending struct {
	Dir    string
	Meta   Meta
	Events []Event // every event, acknowledgements included
	Acked  int64   // highest acknowledged sequence number (acknowledgements are per event: see TypeAck)
}

// AckedSeqs returns the sequence numbers of the acknowledged events.
func (p Pending) AckedSeqs() map[int64]bool {
	acked := map[int64]bool{}
	for _, ev := range p.Events {
		if ev.Type != TypeAck {
			continue
		}
		var a AckData
		if json.Unmarshal(ev.Data, &a) == nil && a.Seq > 0 {
			acked[a.Seq] = true
		}
	}
	return acked
}

// Undelivered returns the events that were not acknowledged, in order, without acknowledgements
// and run_id events (which record a delivery and are not delivered themselves).
func (p Pending) Undelivered() []Event {
	acked := p.AckedSeqs()
	var out []Event
	for _, ev := range p.Events {
		if ev.Type == TypeAck || ev.Type == TypeRunID || acked[ev.Seq] {
			continue
		}
		out = append(out, ev)
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

// Delivered reports whether the store has the whole run: its end was recorded and every event
// was acknowledged.
func (p Pending) Delivered() bool {
	return p.Ended() && len(p.Undelivered()) == 0
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
		dir := filepath.Join(spoolDir, e.Name())
		if beingCreated(dir) {
			continue
		}
		p, err := Load(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Meta.Created.Before(out[j].Meta.Created) })
	return out, errs
}

// beingCreated reports a journal directory without header and without events: Create writes the
// header before any event, so such a directory holds nothing yet (Create is under way, or died
// before writing anything).
func beingCreated(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, metaFile)); !errors.Is(err, os.ErrNotExist) {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, eventsFile))
	return err != nil || fi.Size() == 0
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
			var a AckData
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
