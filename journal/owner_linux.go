//go:build linux

package journal

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// lookupProcess reads /proc/<pid>/stat. A missing entry proves the process gone only when /proc
// itself is readable.
func lookupProcess(pid int) (processState, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, serr := os.Stat("/proc/self/stat"); serr == nil {
				return processState{}, nil
			}
		}
		return processState{}, err
	}
	state, start, err := parseProcStat(string(b))
	if err != nil {
		return processState{}, err
	}
	if state == 'Z' || state == 'X' || state == 'x' {
		return processState{zombie: true, start: start}, nil
	}
	return processState{exists: true, start: start}, nil
}

// parseProcStat extracts the state (field 3) and the start time (field 22, clock ticks after boot)
// from a /proc/<pid>/stat line. The command name (field 2) is in parentheses and may itself hold
// spaces and parentheses, so fields are counted from the last ')'.
func parseProcStat(s string) (state byte, start uint64, err error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, errors.New("/proc stat line has no command name")
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); field 22 is fields[19].
	if len(fields) < 20 || len(fields[0]) != 1 {
		return 0, 0, fmt.Errorf("/proc stat line has %d fields after the command name, want at least 20", len(fields))
	}
	start, err = strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("/proc stat start time: %w", err)
	}
	return fields[0][0], start, nil
}

// startTimesDiffer compares two starts in clock ticks after the same boot: exact.
func startTimesDiffer(a, b uint64) bool { return a != b }

func currentBootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
