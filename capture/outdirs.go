package capture

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Which files did the command produce?
//
// A file in a declared output directory is "produced" when the run created or changed it. Two
// observations decide, and either is enough:
//
//  1. Its status-change time (ctime) is at or after the start of the run. The kernel sets ctime to
//     the current time on every write, truncate, chmod, rename and link, and no system call lets a
//     user set it; so `cp -p`, `tar x`, `rsync -t` or `touch -d 2001-01-01`, which backdate mtime,
//     still leave a fresh ctime. mtime is never trusted for this.
//
//     File systems stamp ctime from a coarse clock: Linux uses the jiffy clock (it lags the
//     precise time by up to one tick, 1–10 ms), some file systems keep whole seconds (ext3 with
//     small inodes, HFS+) or two (FAT). A change the command makes in the first tick after the
//     start can therefore carry a ctime a little before the precise start. So the start is taken
//     as the file system would stamp it: on Linux, the coarse clock (CLOCK_REALTIME_COARSE) read
//     when watching begins; elsewhere, the start minus 20 ms. From that, a margin for the
//     resolution the stamp itself shows is subtracted: 2 s for a ctime without a sub-second part
//     (a whole-second file system), 20 ms for one in whole milliseconds, 1 ms otherwise (a
//     nanosecond clock reading is a whole millisecond once in a million). The price is that a file
//     changed in that last tick before the start (or those seconds, on coarse file systems) is
//     logged too. That error is preferred to the opposite one, missing what the command wrote: the
//     pre-scan cannot settle the tick, because it runs concurrently with the child and may look at
//     a file only after the command changed it (on a loaded machine the child often gets there
//     first).
//
//  2. It differs from what the pre-scan recorded: the path was absent (a new file, or a directory
//     that did not exist yet), or its identity (device, inode), size, mtime, ctime or mode changed.
//     The pre-scan starts when WatchOutputDirs is called, before the child starts, and runs in a
//     goroutine beside the child so the start is never delayed; any difference from its record is
//     a change made after the start. This catches what ctime cannot: a platform without ctime
//     (Windows), a clock stepped back, a network file system whose clock is behind this one's.
//
// A file whose ctime is before the start (as above) and whose pre-scan record matches is unchanged
// and not logged. Limits: a network file system whose clock is ahead of this machine's makes files
// changed shortly before the start look produced; one whose clock is behind can hide a change made
// before the pre-scan reached the file. Any process changing files in the directories during the
// run counts as the command: files are attributed by time, not by writer.
//
// Windows has no ctime in os.FileInfo: there rule 1 uses mtime (which a copy that preserves times
// backdates), and rule 2 catches new and replaced files and changes after the pre-scan; a file
// overwritten in place with a backdated mtime and the same size before the pre-scan reached it is
// missed.

// timestampSlack is how far before the start a change time may be and still count as "during the
// run" where the platform's file-timestamp clock is not known (not Linux): more than the 15.6 ms
// tick of Windows' system time.
const timestampSlack = 20 * time.Millisecond

// resolutionMargin is how much earlier than the clock reading a stamp of changedAt's apparent
// resolution can be, truncated by the file system (see rule 1).
func resolutionMargin(changedAt int64) int64 {
	switch {
	case changedAt%int64(time.Second) == 0:
		return int64(2 * time.Second) // FAT keeps two seconds
	case changedAt%int64(time.Millisecond) == 0:
		return int64(20 * time.Millisecond)
	default:
		return int64(time.Millisecond)
	}
}

// maxPrescanEntries bounds the memory of the pre-scan (about 120 bytes an entry). Past it the
// pre-scan stops; files it did not record are then judged by the time rule alone.
const maxPrescanEntries = 100_000

// OutputDirs watches the declared output directories of one run.
type OutputDirs struct {
	dirs []*watchedDir
	// tickStart is the start of the run as a file-timestamp clock would stamp it (rule 1), Unix
	// nanoseconds.
	tickStart int64
	all       bool

	prescanDone   chan struct{}
	cancelPrescan context.CancelFunc

	// open opens a file to check it is readable and to get its final size; a test hook.
	open func(path string) (*os.File, error)
}

// watchedDir is one declared directory.
type watchedDir struct {
	declared string // as given, for messages
	abs      string // absolute and clean
	prefix   string // artifact path prefix: "outputs" or "outputs/<name>"
	pre      prescan
}

// prescan is what the pre-scan saw of one directory. The pre-scan goroutine writes it before
// closing OutputDirs.prescanDone; Collect reads it after.
type prescan struct {
	found      bool                 // the directory existed
	root       fileID               // its identity, to notice it was replaced by another directory
	files      map[string]fileState // every non-directory entry, by slash-separated relative path
	capped     bool                 // stopped at maxPrescanEntries: absence proves nothing
	unreadDirs []string             // relative paths of subdirectories it could not read
}

// fileID is a file's identity (device, inode); zero where the platform does not tell.
type fileID struct{ dev, ino uint64 }

// fileState is what rule 2 compares.
type fileState struct {
	id       fileID
	mode     fs.FileMode
	size     int64
	mtime    int64 // Unix ns
	ctime    int64 // Unix ns; 0 when !hasCtime
	hasCtime bool
}

// ProducedFile is a file to upload as an artifact.
type ProducedFile struct {
	// LocalPath is the file to read: inside the output directory, with symlinks resolved (for a
	// symlink, the path of its target), so reading it later does not follow a link.
	LocalPath string
	// ArtifactPath is where it goes in the run's artifacts: "outputs/<path relative to the
	// directory>" with one directory, "outputs/<directory name>/<relative path>" with several;
	// slash-separated. A symlink is logged under its own path.
	ArtifactPath string
	Size         int64
}

// SkippedFile is something in an output directory that is not uploaded, and why.
type SkippedFile struct {
	// Path is the entry's path on disk, below the output directory with its own symlinks
	// resolved (for a symlink, the link itself, not its target).
	Path string
	// Reason is a short lower-case phrase: "symlink points outside the output directory",
	// "symlink loop", "named pipe (FIFO), not a regular file", "not readable: permission denied"…
	Reason string
}

// WatchOutputDirs starts watching dirs for files the command produces. Call it right before the
// child starts, with started taken before this call: it returns at once and pre-scans the
// directories in a background goroutine, concurrently with the child. A directory need not exist
// yet. With all, every regular file in the directories is collected and nothing is pre-scanned.
//
// Artifact paths: with one directory, files go under "outputs/"; with several, under
// "outputs/<base name>/", equal base names told apart by "-2", "-3" suffixes in the order given.
// A directory given twice (same absolute path) is watched once; one inside another declared
// directory is collected under its own prefix only.
func WatchOutputDirs(dirs []string, started time.Time, all bool) *OutputDirs {
	// The pre-scan starts now; if the caller's start time is later than now (it should not be),
	// use now, so that rule 1 still counts every change made after the pre-scan began.
	started = earlierOf(started, time.Now())
	tickStart := started.Add(-timestampSlack)
	if coarse, ok := coarseNow(); ok {
		// The child changes files after this call, so their ctime is at least this reading.
		tickStart = earlierOf(started, coarse)
	}
	o := &OutputDirs{
		tickStart:   tickStart.UnixNano(),
		all:         all,
		prescanDone: make(chan struct{}),
		open:        openProducedFile,
	}
	seen := map[string]bool{}
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			abs = filepath.Clean(d) // Getwd failed; a relative path still works for the walk
		}
		if seen[abs] {
			continue
		}
		seen[abs] = true
		o.dirs = append(o.dirs, &watchedDir{declared: d, abs: abs})
	}
	assignPrefixes(o.dirs)

	ctx, cancel := context.WithCancel(context.Background())
	o.cancelPrescan = cancel
	if all {
		close(o.prescanDone)
		return o
	}
	go func() {
		defer close(o.prescanDone)
		budget := maxPrescanEntries
		for _, d := range o.dirs {
			d.pre = prescanDir(ctx, d.abs, &budget)
		}
	}()
	return o
}

func earlierOf(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// assignPrefixes gives every directory its artifact path prefix.
func assignPrefixes(dirs []*watchedDir) {
	if len(dirs) == 1 {
		dirs[0].prefix = "outputs"
		return
	}
	used := map[string]bool{}
	for _, d := range dirs {
		base := filepath.Base(d.abs)
		if base == string(filepath.Separator) || base == "." || base == "" || strings.HasSuffix(base, ":") {
			base = "root" // the file system root (or a Windows volume)
		}
		name := base
		for n := 2; used[name]; n++ {
			name = fmt.Sprintf("%s-%d", base, n)
		}
		used[name] = true
		d.prefix = "outputs/" + name
	}
}

// prescanDir records the state of every entry below dir. It never fails: what it could not see is
// noted so that absence from the record is not taken as proof that a file is new.
func prescanDir(ctx context.Context, dir string, budget *int) prescan {
	p := prescan{files: map[string]fileState{}}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return p // does not exist (yet): every file found later is new
	}
	info, err := os.Stat(root)
	if err != nil || !info.IsDir() {
		return p
	}
	p.found = true
	p.root = stateOf(info).id
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if ctx.Err() != nil {
			p.capped = true
			return filepath.SkipAll
		}
		rel := slashRel(root, path)
		if err != nil {
			if d != nil && d.IsDir() && rel != "." {
				p.unreadDirs = append(p.unreadDirs, rel)
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if *budget <= 0 {
			p.capped = true
			return filepath.SkipAll
		}
		info, err := d.Info()
		if err != nil {
			return nil // gone meanwhile
		}
		*budget--
		p.files[rel] = stateOf(info)
		return nil
	})
	return p
}

// Collect runs after the child ended. It returns the files to upload (in directory order, then
// lexical order) and everything it left out with the reason. err reports directories that could
// not be collected — one that does not exist, is not a directory, or cannot be read — and a
// cancelled ctx; files and skipped are still valid for the rest.
//
// Symlinks: one whose target is a regular file inside the same output directory is followed and
// logged under the link's own path (when the link or its target was produced); one pointing
// outside, a dangling one, a loop, and one to a directory are skipped. Named pipes, sockets and
// devices are skipped, and so are files that cannot be opened for reading. Only entries created
// or changed during the run (all of them with all) are reported as skipped; unreadable
// directories always are. Nothing outside the declared directories is opened.
func (o *OutputDirs) Collect(ctx context.Context) (files []ProducedFile, skipped []SkippedFile, err error) {
	select {
	case <-o.prescanDone:
	case <-ctx.Done():
		o.cancelPrescan()
		return nil, nil, fmt.Errorf("waiting for the pre-scan of the output directories: %w", ctx.Err())
	}
	o.cancelPrescan()
	// A declared directory inside another declared one is collected once, under its own name:
	// the walk of the outer one skips it.
	declaredRoots := map[string]bool{}
	for _, d := range o.dirs {
		if root, err := filepath.EvalSymlinks(d.abs); err == nil {
			declaredRoots[root] = true
		}
	}
	var errs []error
	for _, d := range o.dirs {
		f, s, err := o.collectDir(ctx, d, declaredRoots)
		files = append(files, f...)
		skipped = append(skipped, s...)
		if err != nil {
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return files, skipped, errors.Join(errs...)
}

func (o *OutputDirs) collectDir(ctx context.Context, d *watchedDir, declaredRoots map[string]bool) (files []ProducedFile, skipped []SkippedFile, err error) {
	info, err := os.Stat(d.abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("output directory %s does not exist", d.declared)
	case err != nil:
		return nil, nil, fmt.Errorf("output directory %s: %w", d.declared, err)
	case !info.IsDir():
		return nil, nil, fmt.Errorf("output directory %s is not a directory", d.declared)
	}
	root, err := filepath.EvalSymlinks(d.abs)
	if err != nil {
		return nil, nil, fmt.Errorf("output directory %s: %w", d.declared, err)
	}
	pre := d.pre
	if pre.found && pre.root != stateOf(info).id {
		// The directory was replaced (removed and re-created, or a symlink to it re-pointed):
		// everything in it is new.
		pre = prescan{}
	}
	skip := func(path, reason string) { skipped = append(skipped, SkippedFile{Path: path, Reason: reason}) }

	walkErr := filepath.WalkDir(root, func(path string, de fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			if path == root {
				return err
			}
			skip(path, "cannot read: "+skipReason(err))
			return nil // for a directory: its contents are left out, the walk goes on
		}
		if de.IsDir() {
			if path != root && declaredRoots[path] {
				return filepath.SkipDir
			}
			return nil
		}
		rel := slashRel(root, path)
		linfo, err := de.Info()
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				skip(path, "cannot stat: "+skipReason(err))
			}
			return nil // deleted meanwhile: nothing to log
		}
		// Entries that were there before the run and did not change are neither logged nor
		// reported: a long-standing symlink to a data set outside would otherwise be a warning on
		// every run.
		produced := o.all || o.changed(pre, rel, stateOf(linfo))
		local := path
		switch {
		case linfo.Mode().Type() == fs.ModeSymlink:
			target, reason := resolveInside(root, path)
			if reason != "" {
				if produced {
					skip(path, reason)
				}
				return nil
			}
			tinfo, err := os.Lstat(target)
			if err != nil {
				if produced {
					skip(path, "cannot stat symlink target: "+skipReason(err))
				}
				return nil
			}
			if tinfo.IsDir() {
				if produced {
					skip(path, "symlink to a directory: not followed (the files in it are collected under their own paths)")
				}
				return nil
			}
			produced = produced || o.changed(pre, slashRel(root, target), stateOf(tinfo))
			if !tinfo.Mode().IsRegular() {
				if produced {
					skip(path, "symlink to a "+describeSpecial(tinfo.Mode()))
				}
				return nil
			}
			local = target
		case !linfo.Mode().IsRegular():
			if produced {
				skip(path, describeSpecial(linfo.Mode()))
			}
			return nil
		}
		if !produced {
			return nil
		}
		size, reason := o.checkReadable(local)
		if reason != "" {
			skip(path, reason)
			return nil
		}
		files = append(files, ProducedFile{LocalPath: local, ArtifactPath: d.prefix + "/" + rel, Size: size})
		return nil
	})
	if walkErr != nil {
		return files, skipped, fmt.Errorf("collecting output directory %s: %w", d.declared, walkErr)
	}
	return files, skipped, nil
}

// changed applies the two rules (see the comment at the top of this file) to one file.
func (o *OutputDirs) changed(pre prescan, rel string, now fileState) bool {
	changedAt := now.mtime // Windows: no ctime, mtime is all there is
	if now.hasCtime {
		changedAt = now.ctime
	}
	if changedAt >= o.tickStart-resolutionMargin(changedAt) {
		return true
	}
	was, seen := pre.files[rel]
	if !seen {
		return !pre.blind(rel)
	}
	return was != now
}

// blind reports whether the pre-scan could not have seen rel, so that its absence from the
// record proves nothing.
func (p prescan) blind(rel string) bool {
	if !p.found {
		return false // the directory did not exist: everything in it is new
	}
	if p.capped {
		return true
	}
	for _, dir := range p.unreadDirs {
		if strings.HasPrefix(rel, dir+"/") {
			return true
		}
	}
	return false
}

// resolveInside resolves the symlink at path and returns its target when that is inside root
// (root itself has no symlinks in it: it was resolved). Otherwise it returns why it is skipped.
func resolveInside(root, path string) (target, reason string) {
	if _, err := os.Stat(path); err != nil {
		switch {
		case errors.Is(err, syscall.ELOOP):
			return "", "symlink loop"
		case errors.Is(err, fs.ErrNotExist):
			return "", "dangling symlink: its target does not exist"
		default:
			return "", "cannot resolve symlink: " + skipReason(err)
		}
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", "cannot resolve symlink: " + skipReason(err)
	}
	rel, err := filepath.Rel(root, target)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", "symlink points outside the output directory"
	}
	if rel == "." {
		return "", "symlink to a directory: not followed (the files in it are collected under their own paths)"
	}
	return target, ""
}

// checkReadable opens the file (never blocking on a FIFO swapped in meanwhile, never following a
// symlink) and returns its size, or why it cannot be uploaded.
func (o *OutputDirs) checkReadable(path string) (int64, string) {
	f, err := o.open(path)
	if err != nil {
		return 0, "not readable: " + skipReason(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, "not readable: " + skipReason(err)
	}
	if !info.Mode().IsRegular() {
		return 0, describeSpecial(info.Mode())
	}
	return info.Size(), ""
}

func describeSpecial(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO), not a regular file"
	case m&fs.ModeSocket != 0:
		return "socket, not a regular file"
	case m&fs.ModeCharDevice != 0:
		return "character device, not a regular file"
	case m&fs.ModeDevice != 0:
		return "device, not a regular file"
	case m&fs.ModeSymlink != 0:
		return "symlink, not a regular file"
	default:
		return "not a regular file"
	}
}

// skipReason is err without the path that *PathError repeats (the skipped entry carries it).
func skipReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func slashRel(root, path string) string {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}
