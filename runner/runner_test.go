package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// Portable checks (these also build for Windows).

func TestStartErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		err  *StartError
		want string
		is   error
	}{
		{&StartError{Path: "./x", Kind: ErrNotExecutable, Reason: "permission denied"}, `cannot run "./x": permission denied`, ErrNotExecutable},
		{&StartError{Kind: ErrStartFailed, Reason: `cannot change to directory "/nope": no such file or directory`}, `cannot change to directory "/nope": no such file or directory`, ErrStartFailed},
		{&StartError{Path: "foo", Kind: ErrNotFound, Reason: "command not found in PATH"}, `cannot run "foo": command not found in PATH`, ErrNotFound},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if !errors.Is(tc.err, tc.is) {
			t.Errorf("%v is not %v", tc.err, tc.is)
		}
		for _, other := range []error{ErrNotFound, ErrNotExecutable, ErrStartFailed} {
			if other != tc.is && errors.Is(tc.err, other) {
				t.Errorf("%v also matches %v", tc.err, other)
			}
		}
	}
}

func TestNotFoundPortable(t *testing.T) {
	res := Run(context.Background(), Spec{Argv: []string{"no-such-program-mltrack-test"}, Env: []string{"PATH="}})
	if res.ExitCode != ExitNotFound || res.ChildExitCode != ExitNotFound || !errors.Is(res.StartErr, ErrNotFound) {
		t.Fatalf("exit %d, StartErr %v", res.ExitCode, res.StartErr)
	}
	if !strings.Contains(res.StartErr.Error(), "no-such-program-mltrack-test") {
		t.Errorf("StartErr %q does not name the command", res.StartErr)
	}
	if res.End.Before(res.Start) {
		t.Errorf("End before Start")
	}
}
