package journal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mltrack/mltrack/mlflowclient"
)

// pruneJournal writes a journal with one artifact file in the journal (acknowledged or not), one
// file outside it (acknowledged), and an end (acknowledged or not).
func pruneJournal(t *testing.T, spool, key string, created time.Time, artifactAcked, endAcked bool, size int) (dir, inside, outside string) {
	t.Helper()
	r, err := Create(spool, Meta{Key: key, Created: created})
	if err != nil {
		t.Fatal(err)
	}
	inside = filepath.Join(r.FilesDir(), "stdout.log")
	if err := os.WriteFile(inside, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
	outside = filepath.Join(t.TempDir(), "model.bin")
	if err := os.WriteFile(outside, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := r.Append(TypeCreate, CreateData{})
	r.Ack(c)
	a, _ := r.Append(TypeArtifact, ArtifactData{File: inside, ArtifactPath: "stdout.log"})
	o, _ := r.Append(TypeArtifact, ArtifactData{File: outside, ArtifactPath: "model.bin"})
	r.Ack(o)
	if artifactAcked {
		r.Ack(a)
	}
	e, _ := r.Append(TypeEnd, EndData{Status: mlflowclient.StatusFinished})
	if endAcked {
		r.Ack(e)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return r.Dir(), inside, outside
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return !errors.Is(err, os.ErrNotExist)
}

func TestPruneRemovesDeliveredDataOnly(t *testing.T) {
	spool := t.TempDir()
	now := time.Now()
	const size = 100_000
	// Oldest first: a journal whose artifact was delivered but not its end, then a journal fully
	// delivered (its removal failed earlier), then one with nothing delivered.
	partDir, partFile, partOutside := pruneJournal(t, spool, "partial", now.Add(-3*time.Hour), true, false, size)
	doneDir, _, doneOutside := pruneJournal(t, spool, "done", now.Add(-2*time.Hour), true, true, size)
	pendDir, pendFile, _ := pruneJournal(t, spool, "pending", now.Add(-time.Hour), false, false, size)
	os.MkdirAll(filepath.Join(spool, removedPrefix+"old-1", "files"), 0o700)
	os.WriteFile(filepath.Join(spool, removedPrefix+"old-1", "files", "x"), make([]byte, size), 0o600)

	total, _ := dirSize(spool)
	// Under the cap: nothing happens.
	if freed, warns := Prune(spool, total+1); freed != 0 || warns != nil {
		t.Fatalf("under the cap: freed %d, %v", freed, warns)
	}
	// A cap that needs everything delivered gone, and more.
	freed, warns := Prune(spool, 1)
	if freed < 3*size {
		t.Errorf("freed %d, want at least %d", freed, 3*size)
	}
	if exists(doneDir) || exists(partFile) || exists(filepath.Join(spool, removedPrefix+"old-1")) {
		t.Error("delivered data left")
	}
	if !exists(partDir) || !exists(pendDir) || !exists(pendFile) {
		t.Error("undelivered data removed")
	}
	if !exists(partOutside) || !exists(doneOutside) {
		t.Error("a file outside the spool was removed")
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "not delivered yet (2 runs)") || !strings.Contains(warns[0], spool) || !strings.Contains(warns[0], "mltrack sync") {
		t.Errorf("warnings = %v", warns)
	}
	// The pending journals still load and still have everything undelivered.
	p, err := Load(pendDir)
	if err != nil || len(p.Undelivered()) != 2 {
		t.Fatalf("pending journal after prune: %+v %v", p.Undelivered(), err)
	}
}

func TestPruneSkipsHeldJournals(t *testing.T) {
	spool := t.TempDir()
	dir, inside, _ := pruneJournal(t, spool, "held", time.Now(), true, true, 10_000)
	j, err := OpenExisting(dir)
	if err != nil {
		t.Fatal(err)
	}
	freed, warns := Prune(spool, 1)
	if freed != 0 || !exists(inside) || len(warns) != 1 {
		t.Fatalf("held journal pruned: freed %d, warnings %v", freed, warns)
	}
	j.Close()
	if freed, _ := Prune(spool, 1); freed == 0 || exists(dir) {
		t.Fatalf("released journal not pruned: freed %d", freed)
	}
}

// An artifact path logged twice: the file of the first (acknowledged) event is kept while the
// second, unacknowledged event refers to the same file.
func TestPruneKeepsFilesStillNeeded(t *testing.T) {
	spool := t.TempDir()
	r, err := Create(spool, Meta{Key: "twice"})
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(r.FilesDir(), "out.txt")
	os.WriteFile(f, make([]byte, 5000), 0o600)
	a, _ := r.Append(TypeArtifact, ArtifactData{File: "files/out.txt", ArtifactPath: "out.txt"})
	r.Ack(a)
	r.Append(TypeArtifact, ArtifactData{File: f, ArtifactPath: "out.txt"})
	r.Close()
	Prune(spool, 1)
	if !exists(f) {
		t.Fatal("a file an undelivered event needs was removed")
	}
}
