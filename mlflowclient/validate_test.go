package mlflowclient

import (
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestValidateKey checks MLflow's name rules, and that the hand-written character check answers
// as the regexp MLflow's rule is written as.
func TestValidateKey(t *testing.T) {
	pattern := regexp.MustCompile(`^[/\p{L}\p{N}\p{M}_.\- :]*$`)
	if runtime.GOOS == "windows" {
		pattern = regexp.MustCompile(`^[/\p{L}\p{N}\p{M}_.\- ]*$`)
	}
	tests := []struct {
		key     string
		wantErr string // "" when valid
	}{
		{"loss", ""},
		{"system/cpu_utilization_percentage", ""},
		{"a b.c-d_e:f", ""},
		{"café", ""},
		{"数据", ""},
		{"e\u0301", ""}, // combining mark
		{"٣", ""},       // Arabic-Indic digit
		{"", "param name is empty"},
		{"bad!name", "names may only contain"},
		{"tab\there", "names may only contain"},
		{"\xff", "names may only contain"},
		{"a//b", "normalised relative path"},
		{"/abs", "normalised relative path"},
		{"../x", "normalised relative path"},
		{".", "normalised relative path"},
		{strings.Repeat("k", 250), ""},
		{strings.Repeat("k", 251), "at most 250"},
	}
	for _, tt := range tests {
		err := ValidateKey("param", tt.key)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ValidateKey(%q) = %v, want nil", tt.key, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ValidateKey(%q) = %v, want an error containing %q", tt.key, err, tt.wantErr)
		}
		if got, want := validKeyChars(tt.key), pattern.MatchString(tt.key); got != want {
			t.Errorf("validKeyChars(%q) = %v, the regexp says %v", tt.key, got, want)
		}
	}
}

func FuzzValidKeyChars(f *testing.F) {
	for _, s := range []string{"a", "a:b", "é", "\xff", "a!b", "٣/x"} {
		f.Add(s)
	}
	pattern := regexp.MustCompile(`^[/\p{L}\p{N}\p{M}_.\- :]*$`)
	if runtime.GOOS == "windows" {
		pattern = regexp.MustCompile(`^[/\p{L}\p{N}\p{M}_.\- ]*$`)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validKeyChars(s), pattern.MatchString(s); got != want {
			t.Fatalf("validKeyChars(%q) = %v, the regexp says %v", s, got, want)
		}
	})
}
