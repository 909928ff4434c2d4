package mlflowclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ArtifactFile is one local file to store as a run artifact. ArtifactPath is relative and
// slash-separated, including the file name. Size is what the progress line counts (0: read from
// the file).
type ArtifactFile struct {
	LocalPath, ArtifactPath string
	Size                    int64
}

// BatchArtifactLogger is implemented by stores that store many artifacts better together than
// one by one (RESTStore uploads several at a time and shows progress).
type BatchArtifactLogger interface {
	LogArtifacts(ctx context.Context, run RunInfo, files []ArtifactFile) error
}

// LogArtifactFiles stores files with the store's LogArtifacts when it has one, else one by one.
// It returns every failure (errors.Join), having tried every file.
func LogArtifactFiles(ctx context.Context, s Store, run RunInfo, files []ArtifactFile) error {
	if b, ok := s.(BatchArtifactLogger); ok {
		return b.LogArtifacts(ctx, run, files)
	}
	var errs []error
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, fmt.Errorf("artifact %s not stored: %w", f.ArtifactPath, err))...)
		}
		if err := s.LogArtifact(ctx, run, f.LocalPath, f.ArtifactPath); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DefaultArtifactUploads is how many artifacts are uploaded at a time by default.
const DefaultArtifactUploads = 4

// progressThreshold: below this total, uploads are quick and a progress line would only flicker.
const progressThreshold = 8 << 20

// artifactServiceRoot is where a tracking server serves proxied artifacts (mlflow-artifacts:).
const artifactServiceRoot = "/api/2.0/mlflow-artifacts/artifacts"

// LogArtifact stores one file as an artifact of the run (see LogArtifacts).
func (s *RESTStore) LogArtifact(ctx context.Context, run RunInfo, localPath, artifactPath string) error {
	return s.LogArtifacts(ctx, run, []ArtifactFile{{LocalPath: localPath, ArtifactPath: artifactPath}})
}

// LogArtifacts stores files as artifacts of the run, by what the run's artifact URI says:
//
//   - mlflow-artifacts:/... (the server proxies artifacts, its default): each file is streamed
//     from disk with PUT /api/2.0/mlflow-artifacts/artifacts/<path> (HTTPOptions.ArtifactUploads
//     at a time, default 4), retried from its first byte after a failure. An http(s):// artifact
//     URI is a proxied location too and is used as it is.
//   - file:/... or an absolute path (a server started with --no-serve-artifacts): written directly
//     when the server is on a loopback address, then checked through artifacts/list: the server
//     must see each file with its size (a server in a container may not share this disk).
//   - anything else (s3://, gs://, wasbs://, ...): an error wrapping ErrUnsupportedArtifactURI;
//     mltrack does not write cloud storage itself.
//
// Every file is tried; the failures are returned together (errors.Join).
func (s *RESTStore) LogArtifacts(ctx context.Context, run RunInfo, files []ArtifactFile) error {
	for _, f := range files {
		if err := checkArtifactPath(f.ArtifactPath); err != nil {
			return err
		}
	}
	if len(files) == 0 {
		return nil
	}
	target, local, err := s.artifactTarget(run)
	if err != nil {
		return err
	}
	if local {
		return s.copyLocalArtifacts(ctx, run, files)
	}
	var refused []error
	ok := files[:0:0]
	for _, f := range files {
		if err := checkProxiedArtifactPath(f.ArtifactPath); err != nil {
			refused = append(refused, err)
			continue
		}
		ok = append(ok, f)
	}
	if len(ok) == 0 {
		return errors.Join(refused...)
	}
	return errors.Join(append(refused, s.uploadArtifacts(ctx, target, ok))...)
}

var percentEscape = regexp.MustCompile(`%[0-9A-Fa-f]{2}`)

// checkProxiedArtifactPath refuses names that MLflow's artifact server would refuse or store
// under another name (mlflow/utils/uri.py validate_path_is_safe): it rejects any '#', and it
// percent-decodes the path until it stops changing, so "a%41" would become "aA", and control
// characters would become %XX.
// The errors wrap ErrUnsupportedArtifactURI: like a location mltrack cannot write, it concerns
// this file only, not the run.
func checkProxiedArtifactPath(p string) error {
	if strings.Contains(p, "#") {
		return fmt.Errorf("artifact %q not uploaded: MLflow's artifact server refuses paths holding '#'; the file is kept locally: %w", p, ErrUnsupportedArtifactURI)
	}
	if percentEscape.MatchString(p) {
		return fmt.Errorf("artifact %q not uploaded: MLflow's artifact server would decode its %%XX sequence and store it under another name; the file is kept locally: %w", p, ErrUnsupportedArtifactURI)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("artifact %q not uploaded: MLflow's artifact server does not keep control characters in paths; the file is kept locally: %w", p, ErrUnsupportedArtifactURI)
		}
	}
	return nil
}

// artifactTarget resolves a run's artifact URI: the URL below which files are PUT, or local=true
// for a directory this process writes itself.
func (s *RESTStore) artifactTarget(run RunInfo) (target *url.URL, local bool, err error) {
	uri := run.ArtifactURI
	if uri == "" {
		return nil, false, fmt.Errorf("run %s has no artifact location", run.RunID)
	}
	if filepath.IsAbs(uri) || strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "file:") {
		if !s.serverIsLocal() {
			return nil, false, fmt.Errorf("run %s keeps its artifacts at %s on the tracking server's own disk (the server runs with --no-serve-artifacts), which mltrack cannot reach from this machine; the artifacts are kept locally. Restart the server with --serve-artifacts to have them uploaded: %w",
				run.RunID, RedactURI(uri), ErrUnsupportedArtifactURI)
		}
		return nil, true, nil
	}
	u, perr := url.Parse(uri)
	if perr != nil || u.Scheme == "" {
		return nil, false, fmt.Errorf("run %s has an artifact location mltrack cannot use (%q); the artifacts are kept locally: %w", run.RunID, RedactURI(uri), ErrUnsupportedArtifactURI)
	}
	switch u.Scheme {
	case "mlflow-artifacts":
		t, err := resolveMLflowArtifactsURI(u, s.c.base)
		if err != nil {
			return nil, false, fmt.Errorf("run %s: %w", run.RunID, err)
		}
		return t, false, nil
	case "http", "https":
		t := *u
		t.RawQuery, t.Fragment = "", ""
		return &t, false, nil
	}
	return nil, false, fmt.Errorf("run %s keeps its artifacts in %s (%s storage, which this tracking server does not proxy: it runs with --no-serve-artifacts or a --default-artifact-root outside mlflow-artifacts:/), and mltrack does not write cloud storage itself; the artifacts are kept locally. Start the server with --serve-artifacts --artifacts-destination %s://... to have them uploaded through it: %w",
		run.RunID, RedactURI(uri), u.Scheme, u.Scheme, ErrUnsupportedArtifactURI)
}

// resolveMLflowArtifactsURI maps mlflow-artifacts:[//host[:port]]/<path> to
// <tracking scheme>://<host>/<tracking path>/api/2.0/mlflow-artifacts/artifacts/<path>, as
// mlflow/store/artifact/mlflow_artifacts_repo.py resolve_uri does: a host in the artifact URI
// overrides the tracking server's host; the scheme is always the tracking URI's.
func resolveMLflowArtifactsURI(a, tracking *url.URL) (*url.URL, error) {
	if h := a.Hostname(); h != "" && a.Port() == "" && isNumber(h) {
		return nil, fmt.Errorf("artifact location %s has a port number (%s) but no host", a.String(), h)
	}
	p := a.Path
	if p == "" {
		p = a.Opaque
	}
	host := tracking.Host
	if a.Host != "" {
		host = a.Host
	}
	segs := []string{}
	for _, s := range strings.Split(tracking.Path+artifactServiceRoot+"/"+p, "/") {
		if s != "" {
			segs = append(segs, url.PathEscape(s))
		}
	}
	t := &url.URL{Scheme: tracking.Scheme, Host: host}
	raw := "/" + strings.Join(segs, "/")
	unescaped, err := url.PathUnescape(raw)
	if err != nil {
		return nil, fmt.Errorf("artifact location %s: %w", a.String(), err)
	}
	t.Path, t.RawPath = unescaped, raw
	return t, nil
}

var numberPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]*)?$`)

func isNumber(s string) bool { return numberPattern.MatchString(s) }

// fileURL is the URL of one artifact below a proxied location.
func fileURL(target *url.URL, artifactPath string) *url.URL {
	segs := strings.Split(artifactPath, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := *target
	base := u.EscapedPath()
	raw := strings.TrimRight(base, "/") + "/" + strings.Join(segs, "/")
	if p, err := url.PathUnescape(raw); err == nil {
		u.Path, u.RawPath = p, raw
	}
	return &u
}

// serverIsLocal reports whether the tracking server listens on a loopback address, so that a
// file: artifact location it names may be on this machine's disk.
func (s *RESTStore) serverIsLocal() bool {
	h := strings.ToLower(s.c.base.Hostname())
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// uploadArtifacts PUTs files below target, several at a time.
func (s *RESTStore) uploadArtifacts(ctx context.Context, target *url.URL, files []ArtifactFile) error {
	workers := s.opts.HTTP.ArtifactUploads
	if workers <= 0 {
		workers = DefaultArtifactUploads
	}
	workers = min(workers, len(files))

	files = slices.Clone(files) // sizes are filled in below; the caller's slice stays as it was
	var total int64
	for i := range files {
		if files[i].Size <= 0 {
			if st, err := os.Stat(files[i].LocalPath); err == nil {
				files[i].Size = st.Size()
			}
		}
		total += files[i].Size
	}
	var prog *uploadProgress
	if s.opts.HTTP.Progress != nil && total > progressThreshold {
		prog = startProgress(s.opts.HTTP.Progress, len(files), total)
		defer prog.finish()
	}

	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = s.uploadOne(ctx, target, files[i], prog)
				prog.fileDone()
			}
		}()
	}
	notTried := 0
feed:
	for i := range files {
		select {
		case next <- i:
		case <-ctx.Done():
			notTried = len(files) - i
			break feed
		}
	}
	close(next)
	wg.Wait()
	if notTried > 0 {
		errs = append(errs, fmt.Errorf("%d artifacts not uploaded: %w", notTried, ctx.Err()))
	}
	return errors.Join(errs...)
}

// uploadOne streams one file with PUT. The body is reopened for every attempt, so a retry sends
// the file from its first byte and memory use does not depend on its size.
func (s *RESTStore) uploadOne(ctx context.Context, target *url.URL, f ArtifactFile, prog *uploadProgress) error {
	st, err := os.Stat(f.LocalPath)
	if err != nil {
		return fmt.Errorf("artifact %s: %w", f.ArtifactPath, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("artifact %s: %s is not a regular file", f.ArtifactPath, f.LocalPath)
	}
	size := st.Size()
	var counted atomic.Int64 // bytes of the current attempt shown in the progress line
	ctype := mime.TypeByExtension(path.Ext(f.ArtifactPath))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	cl := &call{
		method:      "PUT",
		url:         fileURL(target, f.ArtifactPath),
		size:        size,
		contentType: ctype,
		streaming:   true,
		body: func() (io.ReadCloser, error) {
			fh, err := os.Open(f.LocalPath)
			if err != nil {
				return nil, fmt.Errorf("artifact %s: %w", f.ArtifactPath, err)
			}
			if st, err := fh.Stat(); err != nil || st.Size() != size {
				fh.Close()
				return nil, fmt.Errorf("artifact %s: %s changed size while being uploaded", f.ArtifactPath, f.LocalPath)
			}
			prog.add(-counted.Swap(0))
			return &countingFile{f: fh, r: io.LimitReader(fh, size), prog: prog, counted: &counted}, nil
		},
	}
	if _, err := s.c.do(ctx, cl); err != nil {
		prog.add(-counted.Swap(0))
		var apiErr *APIError
		if errors.As(err, &apiErr) && artifactsNotServed(apiErr) {
			return fmt.Errorf("artifact %s: the tracking server no longer serves artifacts (it runs with --no-serve-artifacts); the artifacts are kept locally: %w (%w)", f.ArtifactPath, ErrUnsupportedArtifactURI, err)
		}
		return fmt.Errorf("upload artifact %s: %w", f.ArtifactPath, err)
	}
	// Count what the file holds, even if the progress missed a part (redirects).
	prog.add(size - counted.Swap(0))
	return nil
}

// artifactsNotServed recognises the 503 of a server started with --no-serve-artifacts (or
// --artifacts-only for tracking calls): retrying cannot help.
func artifactsNotServed(e *APIError) bool {
	return e.StatusCode == 503 && strings.Contains(e.Message, "disabled due to the mlflow server running")
}

// countingFile reads an artifact for upload and reports progress.
type countingFile struct {
	f       *os.File
	r       io.Reader
	prog    *uploadProgress
	counted *atomic.Int64
}

func (c *countingFile) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.counted.Add(int64(n))
		c.prog.add(int64(n))
	}
	return n, err
}

func (c *countingFile) Close() error { return c.f.Close() }

// copyLocalArtifacts writes files into a run's file: artifact location on this machine, then
// checks that the server sees each of them. A file the server does not see (it runs in a
// container with its own disk) is removed again and reported with ErrUnsupportedArtifactURI.
func (s *RESTStore) copyLocalArtifacts(ctx context.Context, run RunInfo, files []ArtifactFile) error {
	var errs []error
	copied := map[string][]ArtifactFile{} // by directory
	for _, f := range files {
		if err := copyLocalArtifact(ctx, run.ArtifactURI, f.LocalPath, f.ArtifactPath); err != nil {
			errs = append(errs, err)
			continue
		}
		if st, err := os.Stat(f.LocalPath); err == nil {
			f.Size = st.Size()
		}
		dir := path.Dir(f.ArtifactPath)
		if dir == "." {
			dir = ""
		}
		copied[dir] = append(copied[dir], f)
	}
	dirs := make([]string, 0, len(copied))
	for d := range copied {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	root, _ := localArtifactDir(run.ArtifactURI)
	for _, dir := range dirs {
		listed, err := s.listArtifacts(ctx, run.RunID, dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("check artifacts of run %s written to %s: %w", run.RunID, RedactURI(run.ArtifactURI), err))
			continue
		}
		for _, f := range copied[dir] {
			size, ok := listed[f.ArtifactPath]
			if ok && size == f.Size {
				continue
			}
			if root != "" {
				os.Remove(filepath.Join(root, filepath.FromSlash(f.ArtifactPath)))
			}
			errs = append(errs, fmt.Errorf("artifact %s: the tracking server does not see the file mltrack wrote to %s (it does not share this machine's disk: a container?); the artifacts are kept locally. Restart the server with --serve-artifacts to have them uploaded: %w",
				f.ArtifactPath, RedactURI(run.ArtifactURI), ErrUnsupportedArtifactURI))
		}
	}
	return errors.Join(errs...)
}

// listArtifacts returns the files (path relative to the run's artifact root → size) directly in
// dir, as the server sees them (GET /api/2.0/mlflow/artifacts/list).
func (s *RESTStore) listArtifacts(ctx context.Context, runID, dir string) (map[string]int64, error) {
	files := map[string]int64{}
	token := ""
	for page := 0; page < maxSearchPages; page++ {
		q := url.Values{"run_id": {runID}}
		if dir != "" {
			q.Set("path", dir)
		}
		if token != "" {
			q.Set("page_token", token)
		}
		var out struct {
			Files []struct {
				Path     string    `json:"path"`
				IsDir    bool      `json:"is_dir"`
				FileSize jsonInt64 `json:"file_size"`
			} `json:"files"`
			NextPageToken string `json:"next_page_token"`
		}
		if err := s.c.callJSON(ctx, "GET", "mlflow/artifacts/list", q, nil, &out); err != nil {
			return nil, err
		}
		for _, f := range out.Files {
			if !f.IsDir {
				files[f.Path] = int64(f.FileSize)
			}
		}
		if out.NextPageToken == "" {
			break
		}
		token = out.NextPageToken
	}
	return files, nil
}

// uploadProgress draws "uploading artifacts: 12/40 files, 35.2/120.0 MB" on one terminal line,
// redrawn with \r a few times a second and cleared at the end. A nil *uploadProgress draws
// nothing.
type uploadProgress struct {
	w          io.Writer
	totalFiles int
	totalBytes int64
	files      atomic.Int64
	bytes      atomic.Int64
	stop       chan struct{}
	done       chan struct{}
	width      int
}

func startProgress(w io.Writer, files int, total int64) *uploadProgress {
	p := &uploadProgress{w: w, totalFiles: files, totalBytes: total, stop: make(chan struct{}), done: make(chan struct{})}
	p.draw()
	go func() {
		defer close(p.done)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.draw()
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

func (p *uploadProgress) line() string {
	b := max(p.bytes.Load(), 0)
	return fmt.Sprintf("uploading artifacts: %d/%d files, %.1f/%.1f MB", p.files.Load(), p.totalFiles, float64(b)/1e6, float64(p.totalBytes)/1e6)
}

// draw is only called from the goroutine that owns p.width (the ticker, or finish after it ended).
func (p *uploadProgress) draw() {
	l := p.line()
	pad := ""
	if n := p.width - len(l); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	p.width = len(l)
	fmt.Fprint(p.w, "\r"+l+pad)
}

func (p *uploadProgress) add(n int64) {
	if p != nil && n != 0 {
		p.bytes.Add(n)
	}
}

func (p *uploadProgress) fileDone() {
	if p != nil {
		p.files.Add(1)
	}
}

// finish shows the final count, then clears the line for whatever the terminal shows next.
func (p *uploadProgress) finish() {
	close(p.stop)
	<-p.done
	p.draw()
	fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.width)+"\r")
}
