package capture

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shell runs script with sh in dir, with $OUT and $EXT set.
func outdirShell(t *testing.T, dir, out, ext, script string) {
	t.Helper()
	if script == "" {
		return
	}
	cmd := exec.Command("sh", "-ec", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "OUT="+out, "EXT="+ext, "TZ=UTC")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sh -c %q: %v\n%s", script, err, b)
	}
}

// pastTimestampTick waits until files changed so far carry a ctime clearly before the start: a
// change in the last coarse clock tick before the start counts as produced (rule 1 in outdirs.go).
// 25 ms is more than two ticks at HZ=100.
func pastTimestampTick() { time.Sleep(25 * time.Millisecond) }

func outdirsNeedSh(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("uses sh and unix file types")
	}
}

func artifactPaths(files []ProducedFile) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.ArtifactPath)
	}
	return out
}

// skippedByRel maps each skipped path, relative to root and slash-separated, to its reason.
func skippedByRel(t *testing.T, root string, skipped []SkippedFile) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, s := range skipped {
		rel, err := filepath.Rel(root, s.Path)
		if err != nil {
			t.Fatalf("skipped path %s not under %s", s.Path, root)
		}
		out[filepath.ToSlash(rel)] = s.Reason
	}
	return out
}

func TestOutputDirsDetection(t *testing.T) {
	outdirsNeedSh(t)
	tests := []struct {
		name string
		// setup runs before the start, in $OUT (which exists); command runs after the start and
		// after the pre-scan finished. $EXT is a directory outside $OUT.
		setup, command string
		goSetup        func(t *testing.T, out string) // more setup, after the script
		all            bool
		want           []string          // artifact paths, in order
		wantSkipped    map[string]string // relative path → a substring of the reason
	}{
		{
			name:    "new file is logged, unchanged file is not",
			setup:   "echo old > keep.txt",
			command: "echo new > new.txt",
			want:    []string{"outputs/new.txt"},
		},
		{
			name:    "reading a file is not a change",
			setup:   "echo old > keep.txt",
			command: "cat keep.txt >/dev/null",
		},
		{
			name:    "nothing happens",
			setup:   "mkdir -p a/b && echo x > a/b/c.txt && echo y > top.txt",
			command: "true",
		},
		{
			name:    "cp -p of an old file keeps its old mtime",
			setup:   "echo data > $EXT/src.bin && touch -d 2001-01-01 $EXT/src.bin",
			command: "cp -p $EXT/src.bin copy.bin",
			want:    []string{"outputs/copy.bin"},
		},
		{
			name:    "cp -p over an existing file of the same size and mtime",
			setup:   "echo AAAA > model.bin && touch -d 2001-01-01 model.bin && echo BBBB > $EXT/model.bin && touch -d 2001-01-01 $EXT/model.bin",
			command: "cp -p $EXT/model.bin model.bin",
			want:    []string{"outputs/model.bin"},
		},
		{
			name:    "touch -d 2001-01-01 backdates an existing file",
			setup:   "echo x > old.txt && echo y > other.txt",
			command: "touch -d 2001-01-01 old.txt",
			want:    []string{"outputs/old.txt"},
		},
		{
			name:    "tar x restores old mtimes",
			setup:   "mkdir -p $EXT/t/a/b && echo 1 > $EXT/t/a/b/f.txt && echo 2 > $EXT/t/g.txt && touch -d 2001-01-01 $EXT/t/a/b/f.txt $EXT/t/g.txt && tar -cf $EXT/t.tar -C $EXT/t .",
			command: "tar -xf $EXT/t.tar",
			want:    []string{"outputs/a/b/f.txt", "outputs/g.txt"},
		},
		{
			name:    "chmod is a change",
			setup:   "echo x > script.sh",
			command: "chmod +x script.sh",
			want:    []string{"outputs/script.sh"},
		},
		{
			name:    "rename inside the directory",
			setup:   "echo x > before.txt",
			command: "mv before.txt after.txt",
			want:    []string{"outputs/after.txt"},
		},
		{
			name:    "nested subdirectories",
			setup:   "mkdir -p ckpt && echo old > ckpt/epoch0.pt",
			command: "mkdir -p ckpt/deep/er logs && echo 1 > ckpt/epoch1.pt && echo 2 > ckpt/deep/er/x.bin && echo 3 > logs/train.log",
			want:    []string{"outputs/ckpt/deep/er/x.bin", "outputs/ckpt/epoch1.pt", "outputs/logs/train.log"},
		},
		{
			name:    "file deleted before Collect",
			setup:   "echo old > gone-too.txt",
			command: "echo tmp > tmp.txt && echo kept > kept.txt && rm tmp.txt gone-too.txt",
			want:    []string{"outputs/kept.txt"},
		},
		{
			name:    "all logs unchanged files too",
			setup:   "mkdir sub && echo old > sub/keep.txt",
			command: "echo new > new.txt",
			all:     true,
			want:    []string{"outputs/new.txt", "outputs/sub/keep.txt"},
		},
		{
			name:    "symlink inside is followed and logged under its own path",
			command: "mkdir -p real && echo w > real/weights.bin && ln -s real/weights.bin latest.bin",
			want:    []string{"outputs/latest.bin", "outputs/real/weights.bin"},
		},
		{
			name:    "old symlink to a file the run rewrote",
			setup:   "echo old > target.txt && ln -s target.txt link.txt",
			command: "echo new > target.txt",
			want:    []string{"outputs/link.txt", "outputs/target.txt"},
		},
		{
			name:    "unchanged symlink to an unchanged file",
			setup:   "echo old > target.txt && ln -s target.txt link.txt",
			command: "echo other > other.txt",
			want:    []string{"outputs/other.txt"},
		},
		{
			name:        "symlink pointing outside is skipped",
			setup:       "echo secret > $EXT/secret.txt",
			command:     "ln -s $EXT/secret.txt leak.txt && ln -s ../ up",
			want:        nil,
			wantSkipped: map[string]string{"leak.txt": "symlink points outside the output directory", "up": "symlink points outside the output directory"},
		},
		{
			name:        "symlink to an old file outside, even with all",
			setup:       "echo secret > $EXT/secret.txt && ln -s $EXT/secret.txt leak.txt",
			all:         true,
			wantSkipped: map[string]string{"leak.txt": "outside the output directory"},
		},
		{
			name:    "unchanged odd entries from before the run are not reported",
			setup:   "echo secret > $EXT/secret.txt && ln -s $EXT/secret.txt data && mkfifo oldpipe && ln -s nowhere olddangling && mkdir d && ln -s d olddir",
			command: "echo new > new.txt",
			want:    []string{"outputs/new.txt"},
		},
		{
			name:        "symlink loops",
			command:     "ln -s b a && ln -s a b && ln -s self self",
			wantSkipped: map[string]string{"a": "symlink loop", "b": "symlink loop", "self": "symlink loop"},
		},
		{
			name:        "symlinks to directories inside are not followed",
			command:     "mkdir -p d && echo x > d/f.txt && ln -s d dlink && ln -s . here && mkdir -p sub && ln -s .. sub/up",
			want:        []string{"outputs/d/f.txt"},
			wantSkipped: map[string]string{"dlink": "symlink to a directory", "here": "symlink to a directory", "sub/up": "symlink to a directory"},
		},
		{
			name:        "dangling symlink",
			command:     "ln -s nowhere.txt dangling",
			wantSkipped: map[string]string{"dangling": "does not exist"},
		},
		{
			name:        "named pipe",
			command:     "mkfifo pipe && echo x > real.txt",
			want:        []string{"outputs/real.txt"},
			wantSkipped: map[string]string{"pipe": "named pipe"},
		},
		{
			name:        "symlink to a named pipe inside",
			command:     "mkfifo pipe && ln -s pipe pipelink",
			wantSkipped: map[string]string{"pipe": "named pipe", "pipelink": "named pipe"},
		},
		{
			name: "socket",
			goSetup: func(t *testing.T, out string) {
				// Created before the start: sockets are skipped whatever their age.
				l, err := net.Listen("unix", filepath.Join(out, "s.sock"))
				if err != nil {
					t.Skipf("cannot create a unix socket here: %v", err)
				}
				t.Cleanup(func() { l.Close() })
			},
			all:         true,
			wantSkipped: map[string]string{"s.sock": "socket"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, ext := t.TempDir(), t.TempDir()
			outdirShell(t, out, out, ext, tt.setup)
			if tt.goSetup != nil {
				tt.goSetup(t, out)
			}
			pastTimestampTick()
			started := time.Now()
			o := WatchOutputDirs([]string{out}, started, tt.all)
			<-o.prescanDone // deterministic: the command runs after the pre-scan (see the race test)
			outdirShell(t, out, out, ext, tt.command)

			files, skipped, err := o.Collect(context.Background())
			if err != nil {
				t.Fatalf("Collect: %v", err)
			}
			if got := artifactPaths(files); !slices.Equal(got, tt.want) {
				t.Errorf("artifacts = %q, want %q", got, tt.want)
			}
			realOut, _ := filepath.EvalSymlinks(out)
			for _, f := range files {
				if !strings.HasPrefix(f.LocalPath, realOut+string(filepath.Separator)) {
					t.Errorf("LocalPath %s is outside the output directory %s", f.LocalPath, realOut)
				}
				info, err := os.Lstat(f.LocalPath)
				if err != nil || !info.Mode().IsRegular() || info.Size() != f.Size {
					t.Errorf("LocalPath %s: %v, want a regular file of %d bytes", f.LocalPath, err, f.Size)
				}
			}
			gotSkipped := skippedByRel(t, realOut, skipped)
			if len(gotSkipped) != len(tt.wantSkipped) {
				t.Errorf("skipped = %q, want %q", gotSkipped, tt.wantSkipped)
			}
			for rel, want := range tt.wantSkipped {
				if !strings.Contains(gotSkipped[rel], want) {
					t.Errorf("skipped[%s] = %q, want it to contain %q", rel, gotSkipped[rel], want)
				}
			}
		})
	}
}

// TestOutputDirsCtimeAloneCatchesBackdatedChanges makes the changes before the pre-scan looks, so
// the pre-scan record equals the final state and only the ctime rule can tell.
func TestOutputDirsCtimeAloneCatchesBackdatedChanges(t *testing.T) {
	outdirsNeedSh(t)
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" && runtime.GOOS != "freebsd" {
		t.Skip("needs ctime")
	}
	out, ext := t.TempDir(), t.TempDir()
	outdirShell(t, out, out, ext, "echo AAAA > same.bin && touch -d 2001-01-01 same.bin && echo BBBB > $EXT/same.bin && touch -d 2001-01-01 $EXT/same.bin && echo x > touched.txt && echo y > keep.txt")
	pastTimestampTick()
	started := time.Now()
	pastTimestampTick() // the changes below carry a ctime clearly after started
	outdirShell(t, out, out, ext, "cp -p $EXT/same.bin same.bin && touch -d 2001-01-01 touched.txt && mkdir -p $EXT/t && echo 1 > $EXT/t/x.txt && touch -d 2001-01-01 $EXT/t/x.txt && tar -cf $EXT/t.tar -C $EXT/t . && tar -xf $EXT/t.tar")
	o := WatchOutputDirs([]string{out}, started, false)
	files, _, err := o.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"outputs/same.bin", "outputs/touched.txt", "outputs/x.txt"}
	if got := artifactPaths(files); !slices.Equal(got, want) {
		t.Errorf("artifacts = %q, want %q", got, want)
	}
}

// TestOutputDirsConcurrentWithCommand runs like mltrack does: the command starts right after
// WatchOutputDirs, while the pre-scan may still be going.
func TestOutputDirsConcurrentWithCommand(t *testing.T) {
	outdirsNeedSh(t)
	out, ext := t.TempDir(), t.TempDir()
	outdirShell(t, out, out, ext, "mkdir -p many && i=0; while [ $i -lt 2000 ]; do echo $i > many/f$i; i=$((i+1)); done; echo old > keep.txt")
	pastTimestampTick()
	started := time.Now()
	begin := time.Now()
	o := WatchOutputDirs([]string{out}, started, false)
	watchTook := time.Since(begin)
	cmd := exec.Command("sh", "-ec", "echo new > new.txt; echo changed > many/f1999; mkdir -p fresh; echo z > fresh/z.txt")
	cmd.Dir = out
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	files, _, err := o.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"outputs/fresh/z.txt", "outputs/many/f1999", "outputs/new.txt"}
	if got := artifactPaths(files); !slices.Equal(got, want) {
		t.Errorf("artifacts = %q, want %q", got, want)
	}
	t.Logf("WatchOutputDirs returned in %v (pre-scan of 2001 files runs after)", watchTook)
	// The pre-scan of 2001 files takes about 10 ms here; returning well under that shows it does
	// not happen before return (the bound leaves room for a loaded machine).
	if watchTook > 50*time.Millisecond {
		t.Errorf("WatchOutputDirs took %v; it must not scan before returning", watchTook)
	}
}

func TestOutputDirsDirectoryLifecycle(t *testing.T) {
	outdirsNeedSh(t)
	tests := []struct {
		name    string
		command string // runs in the parent of out; $OUT is out
		want    []string
		wantErr string
	}{
		{name: "created by the command", command: "mkdir -p $OUT/sub && echo x > $OUT/a.txt && echo y > $OUT/sub/b.txt", want: []string{"outputs/a.txt", "outputs/sub/b.txt"}},
		{name: "never created", command: "true", wantErr: "does not exist"},
		{name: "a file, not a directory", command: "echo x > $OUT", wantErr: "is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			out := filepath.Join(parent, "out")
			o := WatchOutputDirs([]string{out}, time.Now(), false)
			outdirShell(t, parent, out, "", tt.command)
			files, _, err := o.Collect(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), out) {
					t.Fatalf("err = %v, want one naming %s and saying %q", err, out, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := artifactPaths(files); !slices.Equal(got, tt.want) {
				t.Errorf("artifacts = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOutputDirsReplacedDirectory(t *testing.T) {
	outdirsNeedSh(t)
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	outdirShell(t, parent, out, "", "mkdir out && echo x > out/a.txt")
	o := WatchOutputDirs([]string{out}, time.Now(), false)
	<-o.prescanDone
	// Same relative path, a new directory: the file is new even if it looked the same.
	outdirShell(t, parent, out, "", "rm -rf out && mkdir out && echo x > out/a.txt")
	files, _, err := o.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := artifactPaths(files); !slices.Equal(got, []string{"outputs/a.txt"}) {
		t.Errorf("artifacts = %q", got)
	}
}

func TestOutputDirsArtifactPaths(t *testing.T) {
	outdirsNeedSh(t)
	root := t.TempDir()
	for _, d := range []string{"a/out", "b/out", "c/out", "models", "out-2"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		dirs []string
		want []string
	}{
		{name: "one directory", dirs: []string{"models"}, want: []string{"outputs/f.txt"}},
		{name: "the same directory twice is one", dirs: []string{"models", "./models/"}, want: []string{"outputs/f.txt"}},
		{name: "nested directories: each file once", dirs: []string{"a", "a/out"}, want: []string{"outputs/a/f.txt", "outputs/out/f.txt"}},
		{name: "several", dirs: []string{"models", "a/out"}, want: []string{"outputs/models/f.txt", "outputs/out/f.txt"}},
		{
			name: "equal base names",
			dirs: []string{"a/out", "b/out", "out-2", "c/out"},
			want: []string{"outputs/out/f.txt", "outputs/out-2/f.txt", "outputs/out-2-2/f.txt", "outputs/out-3/f.txt"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dirs []string
			for _, d := range tt.dirs {
				dirs = append(dirs, filepath.Join(root, d))
			}
			o := WatchOutputDirs(dirs, time.Now(), false)
			<-o.prescanDone
			for _, d := range dirs {
				if err := os.WriteFile(filepath.Join(d, "f.txt"), []byte(d), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			files, _, err := o.Collect(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := artifactPaths(files); !slices.Equal(got, tt.want) {
				t.Errorf("artifacts = %q, want %q", got, tt.want)
			}
			for _, d := range dirs {
				_ = os.Remove(filepath.Join(d, "f.txt"))
			}
		})
	}
}

func TestOutputDirsRelativeDirectory(t *testing.T) {
	outdirsNeedSh(t)
	dir := t.TempDir()
	t.Chdir(dir)
	o := WatchOutputDirs([]string{"out"}, time.Now(), false)
	if err := os.MkdirAll("out/x", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("out/x/y.txt", []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // the lead's working directory may change; the path was resolved at the start
	files, _, err := o.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].ArtifactPath != "outputs/x/y.txt" || files[0].Size != 1 {
		t.Errorf("files = %+v", files)
	}
}

func TestOutputDirsUnreadable(t *testing.T) {
	outdirsNeedSh(t)
	out := t.TempDir()
	outdirShell(t, out, out, "", "")
	o := WatchOutputDirs([]string{out}, time.Now(), false)
	<-o.prescanDone
	outdirShell(t, out, out, "", "echo a > ok.txt && echo b > locked.txt && ln -s locked.txt locked-link")
	// Root reads everything, so the permission error is injected at the open.
	o.open = func(path string) (*os.File, error) {
		if filepath.Base(path) == "locked.txt" {
			return nil, &fs.PathError{Op: "open", Path: path, Err: syscall.EACCES}
		}
		return openProducedFile(path)
	}
	files, skipped, err := o.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := artifactPaths(files); !slices.Equal(got, []string{"outputs/ok.txt"}) {
		t.Errorf("artifacts = %q", got)
	}
	realOut, _ := filepath.EvalSymlinks(out)
	got := skippedByRel(t, realOut, skipped)
	for _, rel := range []string{"locked.txt", "locked-link"} {
		if !strings.Contains(got[rel], "not readable: permission denied") {
			t.Errorf("skipped[%s] = %q, want not readable", rel, got[rel])
		}
	}
}

func TestOutputDirsUnreadableForReal(t *testing.T) {
	outdirsNeedSh(t)
	if os.Geteuid() == 0 {
		t.Skip("root can read files without read permission")
	}
	out := t.TempDir()
	o := WatchOutputDirs([]string{out}, time.Now(), false)
	<-o.prescanDone
	outdirShell(t, out, out, "", "echo a > ok.txt && echo b > locked.txt && chmod 000 locked.txt && mkdir closed && echo c > closed/c.txt && chmod 000 closed")
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(out, "closed"), 0o755) })
	files, skipped, err := o.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := artifactPaths(files); !slices.Equal(got, []string{"outputs/ok.txt"}) {
		t.Errorf("artifacts = %q", got)
	}
	realOut, _ := filepath.EvalSymlinks(out)
	got := skippedByRel(t, realOut, skipped)
	if !strings.Contains(got["locked.txt"], "not readable") || !strings.Contains(got["closed"], "cannot read") {
		t.Errorf("skipped = %q", got)
	}
}

func TestOutputDirsCancelledCollect(t *testing.T) {
	outdirsNeedSh(t)
	out := t.TempDir()
	o := WatchOutputDirs([]string{out}, time.Now(), false)
	<-o.prescanDone
	outdirShell(t, out, out, "", "echo a > a.txt")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := o.Collect(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestOutputDirsNoDirectories(t *testing.T) {
	o := WatchOutputDirs(nil, time.Now(), false)
	files, skipped, err := o.Collect(context.Background())
	if len(files) != 0 || len(skipped) != 0 || err != nil {
		t.Errorf("Collect = %v, %v, %v; want nothing", files, skipped, err)
	}
}

// TestOutputDirsChangedRule checks the decision on made-up file states, including what the real
// file system cannot easily show: coarse timestamps, no ctime, a capped or partial pre-scan.
func TestOutputDirsChangedRule(t *testing.T) {
	const start = int64(1_000_000_000_123_456_789)
	const tick = int64(4_000_000)                     // a 4 ms coarse clock tick
	const tickStart = start - 3_000_000               // the coarse clock read at the start
	const longAgo = start - 10*int64(time.Second) + 1 // sub-second part, well before the start
	old := fileState{id: fileID{1, 2}, mode: 0o644, size: 10, mtime: longAgo, ctime: longAgo, hasCtime: true}
	with := func(f func(*fileState)) fileState { s := old; f(&s); return s }
	seen := prescan{found: true, files: map[string]fileState{"f": old}}
	seenAs := func(st fileState) prescan { return prescan{found: true, files: map[string]fileState{"f": st}} }
	noCtime := func(s *fileState) { s.ctime, s.hasCtime = 0, false }
	tests := []struct {
		name string
		pre  prescan
		now  fileState
		want bool
	}{
		{"unchanged", seen, old, false},
		{"ctime after start", seen, with(func(s *fileState) { s.ctime = start + 1 }), true},
		{"ctime exactly at start", seen, with(func(s *fileState) { s.ctime = start }), true},
		{"mtime backdated, ctime after start", seen, with(func(s *fileState) { s.mtime = 1; s.ctime = start + tick }), true},
		// The pre-scan looked after the command's write, so its record matches; the coarse ctime
		// is a little before the precise start but within the start tick.
		{"changed in the start tick before the pre-scan looked", seenAs(with(func(s *fileState) { s.ctime = tickStart })), with(func(s *fileState) { s.ctime = tickStart }), true},
		{"changed within the 1 ms resolution margin", seenAs(with(func(s *fileState) { s.ctime = tickStart - 1 })), with(func(s *fileState) { s.ctime = tickStart - 1 }), true},
		{"changed 2 ms before the start tick", seenAs(with(func(s *fileState) { s.ctime = tickStart - 2_000_001 })), with(func(s *fileState) { s.ctime = tickStart - 2_000_001 }), false},
		{"whole-millisecond ctime 15 ms before the start tick", seenAs(with(func(s *fileState) { s.ctime = tickStart - tickStart%1e6 - 15e6 })), with(func(s *fileState) { s.ctime = tickStart - tickStart%1e6 - 15e6 }), true},
		{"whole-millisecond ctime 30 ms before the start tick", seenAs(with(func(s *fileState) { s.ctime = tickStart - tickStart%1e6 - 30e6 })), with(func(s *fileState) { s.ctime = tickStart - tickStart%1e6 - 30e6 }), false},
		{"whole-second ctime within 2 s before the start", seenAs(with(func(s *fileState) { s.ctime = start - start%1e9 - 1e9 })), with(func(s *fileState) { s.ctime = start - start%1e9 - 1e9 }), true},
		{"whole-second ctime 3 s before the start", seenAs(with(func(s *fileState) { s.ctime = start - start%1e9 - 3e9 })), with(func(s *fileState) { s.ctime = start - start%1e9 - 3e9 }), false},
		{"coarse ctime before the start tick, changed after the pre-scan", seen, with(func(s *fileState) { s.ctime = tickStart - tick; s.size = 11 }), true},
		{"same size and mtime, ctime differs from the record", seen, with(func(s *fileState) { s.ctime = longAgo + 5 }), true},
		{"replaced by another inode", seen, with(func(s *fileState) { s.id.ino = 3 }), true},
		{"mode changed", seen, with(func(s *fileState) { s.mode = 0o755 }), true},
		{"new since the pre-scan", prescan{found: true, files: map[string]fileState{}}, old, true},
		{"directory did not exist at the pre-scan", prescan{}, old, true},
		{"absent from a capped pre-scan", prescan{found: true, capped: true, files: map[string]fileState{}}, old, false},
		{"capped pre-scan, ctime after start", prescan{found: true, capped: true, files: map[string]fileState{}}, with(func(s *fileState) { s.ctime = start + 1 }), true},
		{"under a directory the pre-scan could not read", prescan{found: true, unreadDirs: []string{"sub"}, files: map[string]fileState{}}, old, false},
		{"no ctime (Windows): old mtime, unchanged", seenAs(with(noCtime)), with(noCtime), false},
		{"no ctime (Windows): mtime after start", seen, with(func(s *fileState) { noCtime(s); s.mtime = start + 1 }), true},
		{"no ctime (Windows): new file with old mtime", prescan{found: true, files: map[string]fileState{}}, with(noCtime), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &OutputDirs{tickStart: tickStart}
			rel := "f"
			if len(tt.pre.unreadDirs) > 0 {
				rel = "sub/f"
			}
			if got := o.changed(tt.pre, rel, tt.now); got != tt.want {
				t.Errorf("changed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOutputDirsPrescanCap(t *testing.T) {
	outdirsNeedSh(t)
	out := t.TempDir()
	outdirShell(t, out, out, "", "echo 1 > a && echo 2 > b && echo 3 > c")
	budget := 2
	p := prescanDir(context.Background(), out, &budget)
	if !p.found || !p.capped || len(p.files) != 2 {
		t.Errorf("prescan = found %v capped %v %d files, want found, capped, 2 files", p.found, p.capped, len(p.files))
	}
}
