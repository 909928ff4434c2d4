package journal

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// deadPID returns a pid no process has: the pid of a child that exited and was reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if st, err := lookupProcess(pid); err != nil || st.exists {
		t.Skipf("pid %d was reused at once (%+v, %v)", pid, st, err)
	}
	return pid
}

func TestCurrentOwner(t *testing.T) {
	pid, start, boot := CurrentOwner()
	if pid != os.Getpid() {
		t.Fatalf("pid = %d, want %d", pid, os.Getpid())
	}
	if runtime.GOOS == "linux" && (start == 0 || boot == "") {
		t.Fatalf("start = %d, boot = %q: want both on Linux", start, boot)
	}
	pid2, start2, boot2 := CurrentOwner()
	if pid2 != pid || start2 != start || boot2 != boot {
		t.Fatalf("CurrentOwner is not stable: %d %d %q then %d %d %q", pid, start, boot, pid2, start2, boot2)
	}
}

func TestOwnerGone(t *testing.T) {
	pid, start, boot := CurrentOwner()
	host, _ := os.Hostname()
	self := Meta{PID: pid, PIDStartTime: start, BootID: boot, Host: host}
	dead := deadPID(t)
	tests := []struct {
		name     string
		meta     Meta
		gone     bool
		contains string
	}{
		{"this process", self, false, "may still be running"},
		{"no owner recorded", Meta{}, false, "does not say"},
		{"no such process", Meta{PID: dead, BootID: boot, Host: host}, true, "no such process"},
		{"no such process, nothing else known", Meta{PID: dead}, true, "no such process"},
		{"other host", Meta{PID: dead, Host: host + "-elsewhere"}, false, "recorded on host"},
		{"pid reused", Meta{PID: pid, PIDStartTime: start + 5_000_000, BootID: boot, Host: host}, start != 0, ""},
		{"start time unknown", Meta{PID: pid, BootID: boot, Host: host}, false, "may still be running"},
	}
	if boot != "" {
		tests = append(tests, struct {
			name     string
			meta     Meta
			gone     bool
			contains string
		}{"rebooted", Meta{PID: pid, PIDStartTime: start, BootID: "another-boot", Host: host}, true, "the machine rebooted"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gone, why := OwnerGone(tt.meta)
			if gone != tt.gone || !strings.Contains(why, tt.contains) {
				t.Fatalf("OwnerGone = %v, %q; want %v and %q", gone, why, tt.gone, tt.contains)
			}
		})
	}
}

// A process that exited but was not reaped yet (a zombie) never runs again: gone.
func TestOwnerGoneZombie(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("zombies are read from /proc")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := lookupProcess(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		if st.zombie {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child did not become a zombie")
		}
		time.Sleep(10 * time.Millisecond)
	}
	gone, why := OwnerGone(Meta{PID: cmd.Process.Pid})
	if !gone || !strings.Contains(why, "exited") {
		t.Fatalf("OwnerGone(zombie) = %v, %q", gone, why)
	}
}

func TestCreateFillsOwner(t *testing.T) {
	spool := t.TempDir()
	r, err := Create(spool, Meta{Key: "own", Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	p, err := Load(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	pid, start, boot := CurrentOwner()
	host, _ := os.Hostname()
	if p.Meta.PID != pid || p.Meta.PIDStartTime != start || p.Meta.BootID != boot || p.Meta.Host != host {
		t.Fatalf("meta owner = %d %d %q %q, want %d %d %q %q", p.Meta.PID, p.Meta.PIDStartTime, p.Meta.BootID, p.Meta.Host, pid, start, boot, host)
	}
	// Another process named by the caller is kept as it is.
	r, err = Create(spool, Meta{Key: "other", PID: 999999, BootID: "b"})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	p, _ = Load(r.Dir())
	if p.Meta.PID != 999999 || p.Meta.PIDStartTime != 0 || p.Meta.BootID != "b" {
		t.Fatalf("meta owner = %+v", p.Meta)
	}
}

func TestLooksEphemeral(t *testing.T) {
	tests := []struct {
		env      map[string]string
		want     bool
		provider string
	}{
		{map[string]string{}, false, ""},
		{map[string]string{"CI": "false"}, false, ""},
		{map[string]string{"CI": "true"}, true, "CI=true"},
		{map[string]string{"CI": "1"}, true, "CI=1"},
		{map[string]string{"CI": "true", "GITHUB_ACTIONS": "true"}, true, "GitHub Actions"},
		{map[string]string{"GITLAB_CI": "true"}, true, "GitLab CI"},
		{map[string]string{"BUILDKITE": "true"}, true, "Buildkite"},
		{map[string]string{"CIRCLECI": "true"}, true, "CircleCI"},
		{map[string]string{"TF_BUILD": "True"}, true, "Azure Pipelines"},
		{map[string]string{"JENKINS_URL": "http://j", "BUILD_ID": "7"}, true, "Jenkins"},
		{map[string]string{"JENKINS_URL": "http://j"}, false, ""},
		{map[string]string{"CODEBUILD_BUILD_ID": "x"}, true, "AWS CodeBuild"},
		{map[string]string{"COLAB_RELEASE_TAG": "r"}, true, "Google Colab"},
	}
	for _, tt := range tests {
		got, provider := LooksEphemeral(func(k string) string { return tt.env[k] })
		if got != tt.want || !strings.Contains(provider, tt.provider) || (!tt.want && provider != "") {
			t.Errorf("LooksEphemeral(%v) = %v, %q; want %v, %q", tt.env, got, provider, tt.want, tt.provider)
		}
	}
}
