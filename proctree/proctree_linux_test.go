package proctree

import (
	"runtime"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linux /proc format")
	}
	tests := []struct {
		name string
		line string
		want Proc
		ok   bool
	}{
		{
			name: "plain",
			line: "42 (sleep) S 7 42 7 34816 42 4194304 100 0 0 0 250 30 0 0 20 0 1 0 12345 8192000 200 18446744073709551615",
			want: Proc{PID: 42, PPID: 7, PGID: 42, SID: 7, Comm: "sleep", UserCPU: 2500 * time.Millisecond, SystemCPU: 300 * time.Millisecond, Threads: 1, StartTime: 12345, RSS: 200 * pageSize, ReadBytes: -1, WriteBytes: -1},
			ok:   true,
		},
		{
			name: "name with spaces and parens",
			line: "43 (a (b) c) R 1 43 43 0 -1 0 0 0 0 0 1 2 0 0 20 0 3 0 99 0 10 0",
			want: Proc{PID: 43, PPID: 1, PGID: 43, SID: 43, Comm: "a (b) c", UserCPU: 10 * time.Millisecond, SystemCPU: 20 * time.Millisecond, Threads: 3, StartTime: 99, RSS: 10 * pageSize, ReadBytes: -1, WriteBytes: -1},
			ok:   true,
		},
		{name: "truncated", line: "44 (x) S 1 2", ok: false},
		{name: "garbage", line: "no parens here", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pid := tt.want.PID
			if !tt.ok {
				pid = 44
			}
			got, ok := parseStat(pid, []byte(tt.line))
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if ok && got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (sleep) S 7 42 7 34816 42 4194304 100 0 0 0 250 30 0 0 20 0 1 0 12345 8192000 200 1"))
	f.Add([]byte("1 ()) S"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseStat(1, b) // must not panic
	})
}
