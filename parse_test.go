package main

import (
	"testing"
	"time"
)

func TestParseKeyValues(t *testing.T) {
	tests := []struct {
		in      []string
		want    []keyValue
		wantErr string
	}{
		{in: []string{"a=1", "b=", "c=x=y"}, want: []keyValue{{"a", "1"}, {"b", ""}, {"c", "x=y"}}},
		{in: []string{"novalue"}, wantErr: `-p "novalue" is not KEY=VALUE (for example -p issue_number=123)`},
		{in: []string{"=v"}, wantErr: `-p "=v" has an empty param name; write -p NAME=VALUE`},
	}
	for _, tt := range tests {
		got, err := parseKeyValues("param", "-p", tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%v: err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Fatalf("%v: got %v, %v", tt.in, got, err)
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%v[%d] = %v, want %v", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"10", 10 * time.Second, true},
		{"1.5", 1500 * time.Millisecond, true},
		{"90s", 90 * time.Second, true},
		{"5m", 5 * time.Minute, true},
		{"1.5h", 90 * time.Minute, true},
		{"2d", 48 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"250ms", 250 * time.Millisecond, true},
		{"0", 0, true},
		{"", 0, false},
		{"-5", 0, false},
		{"-1s", 0, false},
		{"abc", 0, false},
		{"5x", 0, false},
		{"NaN", 0, false},
		{"1e300d", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseDuration(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"100", 100, true},
		{"100MiB", 100 << 20, true},
		{"100M", 100 << 20, true},
		{"1GB", 1e9, true},
		{"1.5KiB", 1536, true},
		{"64 kb", 64000, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"10 parsecs", 0, false},
		{"1e30", 0, false},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseSize(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"10", "1.5h", "2d", "1h30m", "-1", "", "9999999999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("parseDuration(%q) = %v, negative", s, d)
		}
	})
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "100MiB", "1.5GB", "", "1e400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("parseSize(%q) = %d, negative", s, n)
		}
	})
}

func FuzzParseKeyValues(f *testing.F) {
	for _, s := range []string{"a=b", "=", "a", "a==b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kv, err := parseKeyValues("param", "-p", []string{s})
		if err == nil && (len(kv) != 1 || kv[0].Key == "" || kv[0].Key+"="+kv[0].Value != s) {
			t.Fatalf("parseKeyValues(%q) = %v", s, kv)
		}
	})
}
