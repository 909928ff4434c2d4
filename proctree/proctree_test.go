package proctree

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

func TestSnapshotFindsGrandchild(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs sh")
	}
	cmd := exec.Command("sh", "-c", "sleep 5 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		snap, err := Take()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := snap.Procs[os.Getpid()]; !ok {
			t.Fatalf("snapshot lacks this test process %d", os.Getpid())
		}
		tree := snap.Tree(cmd.Process.Pid)
		for _, p := range tree[1:] {
			if p.Comm == "sleep" {
				if p.PPID != cmd.Process.Pid {
					t.Errorf("sleep's parent = %d, want %d", p.PPID, cmd.Process.Pid)
				}
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the sleep grandchild never appeared in the tree")
}
