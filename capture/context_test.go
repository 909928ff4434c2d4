package capture

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// isolateGit keeps the machine's git configuration out of the tests and gives commits an author.
func isolateGit(t *testing.T) {
	t.Helper()
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_AUTHOR_NAME", "t")
	t.Setenv("GIT_AUTHOR_EMAIL", "t@example.com")
	t.Setenv("GIT_COMMITTER_NAME", "t")
	t.Setenv("GIT_COMMITTER_EMAIL", "t@example.com")
}

func gitCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func emptyEnv(string) string { return "" }

func TestGatherContextGitRepo(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	isolateGit(t)
	repo := t.TempDir()
	gitCmd(t, repo, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(repo, "train.py"), []byte("print(1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(repo, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	gitCmd(t, repo, "add", "train.py")
	gitCmd(t, repo, "commit", "-q", "-m", "first")
	gitCmd(t, repo, "checkout", "-q", "-b", "feature/x")
	gitCmd(t, repo, "remote", "add", "backup", "https://other.example.com/b.git")
	gitCmd(t, repo, "remote", "add", "origin", "https://alice:s3cret@example.com/org/repo.git")
	head := gitCmd(t, repo, "rev-parse", "HEAD")

	gather := func(dir string) *GitInfo {
		t.Helper()
		c := GatherContext(context.Background(), dir, emptyEnv, 5*time.Second)
		if c.Git == nil {
			t.Fatalf("Git = nil in a work tree (%s)", dir)
		}
		return c.Git
	}
	tests := []struct {
		name   string
		change func(t *testing.T)
		dir    string
		want   GitInfo
	}{
		{
			name: "clean, on a branch, origin credentials stripped",
			dir:  repo,
			want: GitInfo{Commit: head, Branch: "feature/x", RepoURL: "https://example.com/org/repo.git", DirtyKnown: true},
		},
		{
			name: "from a subdirectory",
			dir:  filepath.Join(repo, "sub"),
			want: GitInfo{Commit: head, Branch: "feature/x", RepoURL: "https://example.com/org/repo.git", DirtyKnown: true},
		},
		{
			name: "untracked files do not make it dirty",
			change: func(t *testing.T) {
				if err := os.WriteFile(filepath.Join(repo, "new.txt"), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			dir:  repo,
			want: GitInfo{Commit: head, Branch: "feature/x", RepoURL: "https://example.com/org/repo.git", DirtyKnown: true},
		},
		{
			name: "modified tracked file is dirty",
			change: func(t *testing.T) {
				if err := os.WriteFile(filepath.Join(repo, "train.py"), []byte("print(2)\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			dir:  repo,
			want: GitInfo{Commit: head, Branch: "feature/x", RepoURL: "https://example.com/org/repo.git", Dirty: true, DirtyKnown: true},
		},
		{
			name:   "detached HEAD has no branch",
			change: func(t *testing.T) { gitCmd(t, repo, "checkout", "-q", "--detach", "HEAD") },
			dir:    repo,
			want:   GitInfo{Commit: head, RepoURL: "https://example.com/org/repo.git", Dirty: true, DirtyKnown: true},
		},
		{
			name:   "without origin the first remote is used",
			change: func(t *testing.T) { gitCmd(t, repo, "remote", "remove", "origin") },
			dir:    repo,
			want:   GitInfo{Commit: head, RepoURL: "https://other.example.com/b.git", Dirty: true, DirtyKnown: true},
		},
	}
	for _, tt := range tests { // in order: each case builds on the previous state
		t.Run(tt.name, func(t *testing.T) {
			if tt.change != nil {
				tt.change(t)
			}
			if got := gather(tt.dir); *got != tt.want {
				t.Errorf("Git = %+v\nwant  %+v", *got, tt.want)
			}
		})
	}
}

func TestGatherContextRepoWithoutCommits(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	isolateGit(t)
	repo := t.TempDir()
	gitCmd(t, repo, "init", "-q", "-b", "trunk")
	c := GatherContext(context.Background(), repo, emptyEnv, 5*time.Second)
	want := GitInfo{Branch: "trunk", DirtyKnown: true}
	if c.Git == nil || *c.Git != want {
		t.Errorf("Git = %+v, want %+v", c.Git, want)
	}
}

func TestGatherContextNotARepo(t *testing.T) {
	isolateGit(t)
	dir := t.TempDir()
	t.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(dir)) // in case the temp dir is inside a repo
	c := GatherContext(context.Background(), dir, emptyEnv, 5*time.Second)
	if c.Git != nil {
		t.Errorf("Git = %+v outside a work tree, want nil", *c.Git)
	}
	if c.Dir != dir {
		t.Errorf("Dir = %q, want %q", c.Dir, dir)
	}
	if c.Host == "" {
		t.Error("Host is empty")
	}
}

func TestGatherContextGitMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	c := GatherContext(context.Background(), t.TempDir(), emptyEnv, time.Second)
	if c.Git != nil {
		t.Errorf("Git = %+v without git, want nil", *c.Git)
	}
}

// fakeGit puts a shell script named git first on PATH.
func fakeGit(t *testing.T, body string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("shell script as git")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep")
	}
	bin := t.TempDir()
	script := "#!/bin/sh\nSLEEP=" + sleep + "\n" + body + "\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
}

func TestGatherContextSlowGitIsBounded(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		wantGit *GitInfo
	}{
		{
			name:    "hangs at once",
			script:  `$SLEEP 30`,
			wantGit: nil,
		},
		{
			// Answers the first questions, then a child of git holds the output pipe open.
			name: "hangs in status",
			script: `case "$*" in
*is-inside-work-tree*) echo true ;;
*"--verify"*) echo 0123456789abcdef0123456789abcdef01234567 ;;
*symbolic-ref*) echo main ;;
*status*) $SLEEP 30 & $SLEEP 30 ;;
*) exit 1 ;;
esac`,
			wantGit: &GitInfo{Commit: "0123456789abcdef0123456789abcdef01234567", Branch: "main"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakeGit(t, tt.script)
			const timeout = 300 * time.Millisecond
			begin := time.Now()
			c := GatherContext(context.Background(), t.TempDir(), emptyEnv, timeout)
			took := time.Since(begin)
			if took > timeout+700*time.Millisecond {
				t.Errorf("GatherContext took %v with a %v timeout", took, timeout)
			}
			t.Logf("took %v", took)
			switch {
			case tt.wantGit == nil && c.Git != nil:
				t.Errorf("Git = %+v, want nil", *c.Git)
			case tt.wantGit != nil && (c.Git == nil || *c.Git != *tt.wantGit):
				t.Errorf("Git = %+v, want %+v", c.Git, *tt.wantGit)
			}
		})
	}
}

func TestUserName(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"LOGNAME first", map[string]string{"LOGNAME": "a", "USER": "b", "LNAME": "c", "USERNAME": "d"}, "a"},
		{"then USER", map[string]string{"USER": "b", "LNAME": "c", "USERNAME": "d"}, "b"},
		{"then LNAME", map[string]string{"LNAME": "c", "USERNAME": "d"}, "c"},
		{"then USERNAME", map[string]string{"USERNAME": "d"}, "d"},
		{"empty values are skipped", map[string]string{"LOGNAME": "", "USER": "b"}, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := userName(context.Background(), func(k string) string { return tt.env[k] }); got != tt.want {
				t.Errorf("userName = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("user database when the environment says nothing", func(t *testing.T) {
		if got := userName(context.Background(), emptyEnv); got == "" {
			t.Skip("no user database entry for this user") // containers with arbitrary UIDs
		} else {
			t.Logf("user = %q", got)
		}
	})
	t.Run("via GatherContext", func(t *testing.T) {
		c := GatherContext(context.Background(), t.TempDir(), func(k string) string {
			if k == "USER" {
				return "carol"
			}
			return ""
		}, time.Second)
		if c.User != "carol" {
			t.Errorf("User = %q, want carol", c.User)
		}
	})
}

func TestStripURLCredentials(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://alice:s3cret@example.com/org/repo.git", "https://example.com/org/repo.git"},
		{"https://ghp_token@github.com/org/repo", "https://github.com/org/repo"},
		{"https://user:p%40ss@host:8443/r.git", "https://host:8443/r.git"},
		{"https://us@er:pa@ss@host/r", "https://host/r"},
		{"ssh://git@github.com/org/repo.git", "ssh://github.com/org/repo.git"},
		{"git+https://u:p@host/r", "git+https://host/r"},
		{"https://github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://host/path@v1", "https://host/path@v1"},
		{"https://host?x=a@b", "https://host?x=a@b"},
		{"git@github.com:org/repo.git", "git@github.com:org/repo.git"},
		{"user:token@host:org/repo.git", "host:org/repo.git"},
		{"/srv/git/repo.git", "/srv/git/repo.git"},
		{"../sibling", "../sibling"},
		{"file:///srv/repo", "file:///srv/repo"},
		{"a:b@c:d@host:repo", "host:repo"},
		{"a:b@https://x:y@h/p", "https://h/p"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := stripURLCredentials(tt.in); got != tt.want {
			t.Errorf("stripURLCredentials(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzStripURLCredentials(f *testing.F) {
	for _, s := range []string{"https://a:b@h/p", "git@h:p", "u:t@h:p", "x://@", "://@", "a@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := stripURLCredentials(in)
		if again := stripURLCredentials(out); again != out {
			t.Errorf("not stable: %q -> %q -> %q", in, out, again)
		}
		if len(out) > len(in) {
			t.Errorf("output %q longer than input %q", out, in)
		}
		// With a scheme, no user information is left in the authority.
		if scheme, rest, ok := strings.Cut(out, "://"); ok && validScheme(scheme) {
			end := strings.IndexAny(rest, "/?#")
			if end < 0 {
				end = len(rest)
			}
			if strings.Contains(rest[:end], "@") {
				t.Errorf("%q -> %q still has user information", in, out)
			}
		}
	})
}

func TestPickRemoteURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"remote.upstream.url https://u/x\nremote.origin.url https://o/x\n", "https://o/x"},
		{"remote.upstream.url https://u/x\nremote.fork.url https://f/x\n", "https://u/x"},
		{"remote.my.dotted.url https://d/x\n", "https://d/x"},
		{"", ""},
		{"garbage\n", ""},
	}
	for _, tt := range tests {
		if got := pickRemoteURL(tt.in); got != tt.want {
			t.Errorf("pickRemoteURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGitOutputIsCapped(t *testing.T) {
	b := &gitOutput{limit: 5}
	for _, s := range []string{"abc", "defg", "hij"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if b.String() != "abcde" {
		t.Errorf("kept %q, want abcde", b.String())
	}
}
