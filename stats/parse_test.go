package stats

import (
	"strings"
	"testing"
	"time"
)

func TestParseGroupBy(t *testing.T) {
	tests := []struct {
		in      string
		want    GroupKey
		wantErr string // substring; "" = no error
	}{
		{"", GroupKey{}, ""},
		{"   ", GroupKey{}, ""},
		{"params.model", GroupKey{KindParam, "model"}, ""},
		{" params.model ", GroupKey{KindParam, "model"}, ""},
		{"param.model", GroupKey{KindParam, "model"}, ""},
		{"parameters.model", GroupKey{KindParam, "model"}, ""},
		{"Params.model", GroupKey{KindParam, "model"}, ""},
		{"tags.env", GroupKey{KindTag, "env"}, ""},
		{"tag.env", GroupKey{KindTag, "env"}, ""},
		{"tags.mlflow.user", GroupKey{KindTag, "mlflow.user"}, ""},
		{"params.a b", GroupKey{KindParam, "a b"}, ""},
		{"params.`a b`", GroupKey{KindParam, "a b"}, ""},
		{`params."a b"`, GroupKey{KindParam, "a b"}, ""},
		{`params.'a b'`, GroupKey{KindParam, "a b"}, ""},
		{"params.` a `", GroupKey{KindParam, " a "}, ""},
		{"params.``a``", GroupKey{KindParam, "`a`"}, ""},
		{"params.`a", GroupKey{KindParam, "`a"}, ""},
		{"params.`", GroupKey{KindParam, "`"}, ""},
		{"run_name", GroupKey{Kind: KindRunName}, ""},
		{"RUN_NAME", GroupKey{Kind: KindRunName}, ""},
		{"attributes.run_name", GroupKey{Kind: KindRunName}, ""},
		{"attr.`run_name`", GroupKey{Kind: KindRunName}, ""},
		{"model", GroupKey{}, "expected params.NAME, tags.NAME or run_name"},
		{"metrics.loss", GroupKey{}, `unknown entity "metrics"`},
		{"params.", GroupKey{}, "name is empty"},
		{"params.``", GroupKey{}, "name is empty"},
		{"tags.''", GroupKey{}, "name is empty"},
		{"attributes.status", GroupKey{}, "only attribute runs can be grouped by is run_name"},
		{".x", GroupKey{}, `unknown entity ""`},
	}
	for _, tt := range tests {
		got, err := ParseGroupBy(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseGroupBy(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseGroupBy(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestGroupKeyString(t *testing.T) {
	tests := []struct {
		key  GroupKey
		want string
	}{
		{GroupKey{}, ""},
		{GroupKey{Kind: KindRunName}, "run_name"},
		{GroupKey{KindParam, "model"}, "params.model"},
		{GroupKey{KindTag, "mlflow.user"}, "tags.mlflow.user"},
		{GroupKey{KindParam, "a b"}, "params.a b"},
		{GroupKey{KindParam, " a"}, "params.` a`"},
		{GroupKey{KindParam, "'x'"}, "params.`'x'`"},
		{GroupKey{KindParam, "`"}, "params.`"},
	}
	for _, tt := range tests {
		if got := tt.key.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.key, got, tt.want)
		}
		back, err := ParseGroupBy(tt.key.String())
		if err != nil || back != tt.key {
			t.Errorf("ParseGroupBy(%q) = %+v, %v; want %+v", tt.key.String(), back, err, tt.key)
		}
	}
}

func FuzzParseGroupBy(f *testing.F) {
	for _, s := range []string{"", "params.model", "tags.`a b`", "run_name", "attributes.run_name", "params.``", "x", "tags.'\"'", "params. x "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseGroupBy(s)
		if err != nil {
			if k != (GroupKey{}) {
				t.Fatalf("ParseGroupBy(%q) returned %+v with error %v", s, k, err)
			}
			return
		}
		switch k.Kind {
		case "", KindRunName:
			if k.Name != "" {
				t.Fatalf("ParseGroupBy(%q) = %+v: a name without params/tags", s, k)
			}
		case KindParam, KindTag:
			if k.Name == "" {
				t.Fatalf("ParseGroupBy(%q) = %+v: empty name", s, k)
			}
		default:
			t.Fatalf("ParseGroupBy(%q) = %+v: unknown kind", s, k)
		}
		back, err := ParseGroupBy(k.String())
		if err != nil || back != k {
			t.Fatalf("round trip of %q: String() = %q parses as %+v, %v", s, k.String(), back, err)
		}
	})
}

func TestParseSince(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	now := time.Date(2026, 11, 8, 12, 30, 0, 0, paris)
	tests := []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{"7d", now.Add(-7 * 24 * time.Hour), ""},
		{"12h", now.Add(-12 * time.Hour), ""},
		{"30m", now.Add(-30 * time.Minute), ""},
		{"45s", now.Add(-45 * time.Second), ""},
		{"2w", now.Add(-14 * 24 * time.Hour), ""},
		{"1d12h", now.Add(-36 * time.Hour), ""},
		{"1.5h", now.Add(-90 * time.Minute), ""},
		{" 7d ", now.Add(-7 * 24 * time.Hour), ""},
		{"0s", now, ""},
		{"2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, paris), ""},
		{"2026-11-01T15:04:05Z", time.Date(2026, 11, 1, 15, 4, 5, 0, time.UTC), ""},
		{"2026-11-01T15:04:05.250+02:00", time.Date(2026, 11, 1, 13, 4, 5, 250e6, time.UTC), ""},
		{"2026-11-01T15:04", time.Date(2026, 11, 1, 15, 4, 0, 0, paris), ""},
		{"2026-11-01 15:04:05", time.Date(2026, 11, 1, 15, 4, 5, 0, paris), ""},
		{"", time.Time{}, "since is empty"},
		{"7", time.Time{}, "has no unit"},
		{"7x", time.Time{}, `unknown unit "x"`},
		{"7mo", time.Time{}, `unknown unit "mo"`},
		{"7dd", time.Time{}, `unknown unit "dd"`},
		{"1d 2h", time.Time{}, "expected a number"},
		{"1..5d", time.Time{}, "is not a number"},
		{"99999w", time.Time{}, "more than 100 years"},
		{"-7d", time.Time{}, "expected a duration back from now"},
		{"yesterday", time.Time{}, "expected a duration back from now"},
		{"2026-13-01", time.Time{}, "or a date or time"},
		{"2027-01-01", time.Time{}, "is in the future"},
	}
	for _, tt := range tests {
		got, err := ParseSince(tt.in, now)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSince(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"7d", "1d12h", "1.5h", "2026-11-01", "2026-11-01T15:04:05Z", "0s", "9e99w", "1.e3m", "2026-11-01 15:04"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 8, 12, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSince(s, now)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("ParseSince(%q): error spans lines: %q", s, err)
			}
			return
		}
		if got.After(now) {
			t.Fatalf("ParseSince(%q) = %v, after now", s, got)
		}
		if now.Sub(got) > maxSince+24*time.Hour && !strings.Contains(s, "-") {
			t.Fatalf("ParseSince(%q) = %v, more than maxSince back", s, got)
		}
	})
}
