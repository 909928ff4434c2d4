package capture

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// defaultContextTimeout bounds GatherContext when the caller gives no timeout.
const defaultContextTimeout = 2 * time.Second

// gitOutputLimit is how much of a git command's output is kept: enough for any answer we parse;
// `git status` of a huge dirty tree is only checked for being non-empty.
const gitOutputLimit = 64 << 10

// Context is where and by whom a run was started.
type Context struct {
	// Dir is the working directory of the command, made absolute.
	Dir string
	// Host is the machine's host name; "" when the system does not tell.
	Host string
	// User is the user name the way MLflow's Python client finds it for the mlflow.user tag
	// (getpass.getuser); "" when unknown (the Python client then writes "unknown").
	User string
	// Git describes the git work tree containing Dir; nil when Dir is not in a work tree, git is
	// not installed, or git did not answer in time.
	Git *GitInfo
}

// GitInfo is the state of the work tree at the start of the run.
type GitInfo struct {
	// Commit is the full hash of HEAD; "" in a repository without commits yet (or when git did
	// not answer in time).
	Commit string
	// Branch is the short name of the checked-out branch; "" for a detached HEAD.
	Branch string
	// RepoURL is the URL of the remote "origin", or of the first remote when there is no origin,
	// with any user name and password removed; "" without remotes.
	RepoURL string
	// Dirty is true when tracked files differ from HEAD (untracked files do not count).
	// DirtyKnown is false when that could not be found out in time; Dirty is then false too.
	Dirty      bool
	DirtyKnown bool
}

// GatherContext finds the run's context. It is meant to run concurrently with the command and is
// bounded: every external call (git, the user database) shares one timeout (2 s when timeout <= 0),
// a git still running then is killed with its children, and what was found so far is returned.
// git runs with GIT_OPTIONAL_LOCKS=0 (a status never takes the index lock a command of the user's
// may need) and GIT_TERMINAL_PROMPT=0, stdin from the null device: it never prompts.
//
// getenv reads the environment (the package does not): it gives the user name variables.
func GatherContext(ctx context.Context, dir string, getenv func(string) string, timeout time.Duration) Context {
	if timeout <= 0 {
		timeout = defaultContextTimeout
	}
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	c := Context{Dir: dir}
	if abs, err := filepath.Abs(dir); err == nil {
		c.Dir = abs
	}
	var wg sync.WaitGroup
	wg.Go(func() { c.Git = gatherGit(ctx, c.Dir) })
	c.Host, _ = os.Hostname()
	c.User = userName(ctx, getenv)
	wg.Wait()
	return c
}

// userName follows Python's getpass.getuser, which MLflow uses for mlflow.user: the first of
// LOGNAME, USER, LNAME, USERNAME that is set and non-empty, else the user database entry of the
// real user ID.
func userName(ctx context.Context, getenv func(string) string) string {
	for _, k := range []string{"LOGNAME", "USER", "LNAME", "USERNAME"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	// The user database can be remote (LDAP, NIS) and slow: do not wait past the deadline.
	found := make(chan string, 1)
	go func() {
		name := ""
		if u, err := user.Current(); err == nil {
			name = u.Username
			// Windows gives DOMAIN\name; getpass (via USERNAME) gives the bare name.
			if i := strings.LastIndexByte(name, '\\'); i >= 0 {
				name = name[i+1:]
			}
		}
		found <- name
	}()
	select {
	case name := <-found:
		return name
	case <-ctx.Done():
		return ""
	}
}

// gatherGit asks git about the work tree containing dir; nil when it is not one.
func gatherGit(ctx context.Context, dir string) *GitInfo {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return nil
	}
	run := func(args ...string) (string, error) { return runGit(ctx, gitPath, dir, args...) }

	// One call first: outside a work tree the other questions are pointless.
	inside, err := run("rev-parse", "--is-inside-work-tree")
	if err != nil || strings.TrimSpace(inside) != "true" {
		return nil
	}
	info := &GitInfo{}
	var wg sync.WaitGroup
	wg.Go(func() {
		if out, err := run("rev-parse", "--verify", "-q", "HEAD"); err == nil {
			info.Commit = strings.TrimSpace(out)
		}
	})
	wg.Go(func() {
		// Exit status 1 and no output for a detached HEAD.
		if out, err := run("symbolic-ref", "--short", "-q", "HEAD"); err == nil {
			info.Branch = strings.TrimSpace(out)
		}
	})
	wg.Go(func() {
		if out, err := run("config", "--get-regexp", `^remote\..*\.url$`); err == nil {
			info.RepoURL = stripURLCredentials(pickRemoteURL(out))
		}
	})
	wg.Go(func() {
		if out, err := run("status", "--porcelain", "--untracked-files=no"); err == nil {
			info.Dirty = strings.TrimSpace(out) != ""
			info.DirtyKnown = true
		}
	})
	wg.Wait()
	return info
}

// runGit runs one git command in dir and returns its standard output (at most gitOutputLimit
// bytes of it). A non-zero exit status is an error.
func runGit(ctx context.Context, gitPath, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, gitPath, args...)
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), "GIT_OPTIONAL_LOCKS=0", "GIT_TERMINAL_PROMPT=0")
	cmd.Stdin = nil // the null device
	out := &gitOutput{limit: gitOutputLimit}
	cmd.Stdout = out
	// On timeout, CommandContext kills git (killTree: with its process group where there is one);
	// WaitDelay then bounds the wait for a grandchild still holding the output pipe.
	killTree(cmd)
	cmd.WaitDelay = 100 * time.Millisecond
	if err := cmd.Run(); err != nil {
		return "", err
	}
	return out.String(), nil
}

// pickRemoteURL chooses from `git config --get-regexp '^remote\..*\.url$'` output ("remote.NAME.url
// URL" lines, in configuration order) the URL of origin, else the first remote's, like MLflow which
// takes the first remote GitPython lists.
func pickRemoteURL(out string) string {
	first := ""
	for line := range strings.Lines(out) {
		key, url, ok := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		if !ok || url == "" {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(key, "remote."), ".url")
		if name == "origin" {
			return url
		}
		if first == "" {
			first = url
		}
	}
	return first
}

// stripURLCredentials removes the user information (user name and password, or a token) from a
// repository URL so that it can be stored as a tag: "https://user:token@host/repo" becomes
// "https://host/repo", like MLflow's _strip_credentials_from_url. An scp-like address
// ("git@host:repo") keeps its user name, which is not a secret, unless it carries a password
// ("user:token@host:repo" becomes "host:repo"). Anything else is returned unchanged.
func stripURLCredentials(u string) string {
	// Repeat until nothing changes: "a:b@c:d@host:repo" hides a second password behind the first.
	for {
		next := stripURLCredentialsOnce(u)
		if next == u {
			return u
		}
		u = next
	}
}

func stripURLCredentialsOnce(u string) string {
	if scheme, rest, ok := strings.Cut(u, "://"); ok && validScheme(scheme) {
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
			return scheme + "://" + rest[at+1:]
		}
		return u
	}
	if at := strings.IndexByte(u, '@'); at >= 0 {
		userinfo := u[:at]
		if strings.Contains(userinfo, ":") && !strings.ContainsAny(userinfo, `/\`) {
			return u[at+1:]
		}
	}
	return u
}

// validScheme reports whether s is a URL scheme (RFC 3986: a letter, then letters, digits, "+",
// "-", ".").
func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// gitOutput keeps the first limit bytes written to it and discards the rest, so a huge output
// costs no memory; writes never fail (git must not die of a closed pipe before it exits).
type gitOutput struct {
	buf   bytes.Buffer
	limit int
}

func (b *gitOutput) Write(p []byte) (int, error) {
	if room := b.limit - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *gitOutput) String() string { return b.buf.String() }
