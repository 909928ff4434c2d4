//go:build linux

package journal

import (
	"strings"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	const rest = " 1 1 0 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 %s 1000 10"
	tests := []struct {
		name  string
		line  string
		state byte
		start uint64
		err   bool
	}{
		{"plain", "42 (mltrack) S" + strings.Replace(rest, "%s", "123456", 1), 'S', 123456, false},
		{"spaces and parens in name", "42 (a (b) c) R" + strings.Replace(rest, "%s", "7", 1), 'R', 7, false},
		{"zombie", "42 (x) Z" + strings.Replace(rest, "%s", "9", 1), 'Z', 9, false},
		{"too short", "42 (x) S 1 2 3", 0, 0, true},
		{"no name", "42 x S" + rest, 0, 0, true},
		{"bad start", "42 (x) S" + strings.Replace(rest, "%s", "-1", 1), 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, start, err := parseProcStat(tt.line)
			if (err != nil) != tt.err || state != tt.state || start != tt.start {
				t.Fatalf("parseProcStat = %q %d %v; want %q %d err=%v", state, start, err, tt.state, tt.start, tt.err)
			}
		})
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add("42 (mltrack) S 1 1 0 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10")
	f.Add("1 ()) ) Z 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		state, start, err := parseProcStat(s)
		if err != nil && (state != 0 || start != 0) {
			t.Fatalf("error %v with values %q %d", err, state, start)
		}
	})
}
