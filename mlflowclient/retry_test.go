package mlflowclient

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRetryBackoff(t *testing.T) {
	half := func() float64 { return 0.5 }
	tests := []struct {
		failures       int
		factor, jitter float64
		want           time.Duration
	}{
		// MLflow's defaults (factor 2, jitter 1 s): 0, 4, 8, 16, 32, 64, 120 s plus jitter.
		{0, 2, 0, 0},
		{1, 2, 0, 0}, // no wait before the first retry
		{1, 2, 1, 0}, // ... not even jitter
		{2, 2, 0, 4 * time.Second},
		{3, 2, 0, 8 * time.Second},
		{4, 2, 0, 16 * time.Second},
		{5, 2, 0, 32 * time.Second},
		{6, 2, 0, 64 * time.Second},
		{7, 2, 0, 120 * time.Second}, // 128 capped
		{8, 2, 0, 120 * time.Second},
		{60, 2, 0, 120 * time.Second}, // no overflow
		{2, 2, 1, 4500 * time.Millisecond},
		{7, 2, 1, 120 * time.Second}, // the cap applies after the jitter, as in urllib3
		{2, 0.5, 0, time.Second},
		{3, 0.1, 0.2, 500 * time.Millisecond},
		{4, 0, 0, 0},
	}
	for _, tt := range tests {
		if got := backoff(tt.failures, tt.factor, tt.jitter, half); got != tt.want {
			t.Errorf("backoff(%d, %v, %v) = %s, want %s", tt.failures, tt.factor, tt.jitter, got, tt.want)
		}
	}
}

func TestRetryPolicyDefaults(t *testing.T) {
	p, err := newRetryPolicy(HTTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.maxRetries != 7 || p.backoffFactor != 2 || p.jitter != 1 || p.requestTimeout != 120*time.Second || !p.respectRetryHdr {
		t.Fatalf("defaults = %+v", p)
	}
	p, err = newRetryPolicy(HTTPOptions{MaxRetries: -1, BackoffFactor: 0.5, BackoffJitter: 0.1, RequestTimeout: time.Second, IgnoreRetryAfter: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.maxRetries != 0 || p.backoffFactor != 0.5 || p.jitter != 0.1 || p.requestTimeout != time.Second || p.respectRetryHdr {
		t.Fatalf("explicit = %+v", p)
	}
	for _, bad := range []HTTPOptions{{MaxRetries: 11}, {BackoffFactor: 121}, {BackoffFactor: -1}, {BackoffJitter: -1}} {
		if _, err := newRetryPolicy(bad); err == nil || !strings.Contains(err.Error(), "MLFLOW_HTTP_REQUEST_") {
			t.Errorf("newRetryPolicy(%+v) = %v, want an error naming the variable", bad, err)
		}
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 4, 29, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"5", 5 * time.Second, true},
		{"  7 ", 7 * time.Second, true},
		{"0", 0, true},
		{"120", 120 * time.Second, true},
		{"Wed, 29 Apr 2026 12:00:30 GMT", 30 * time.Second, true}, // IMF-fixdate
		{"Wednesday, 29-Apr-26 12:01:00 GMT", time.Minute, true},  // RFC 850
		{"Wed Apr 29 12:00:10 2026", 10 * time.Second, true},      // asctime
		{"Wed, 29 Apr 2026 11:00:00 GMT", 0, true},                // in the past
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"5 s", 0, false},
		{"99999999999999999999999", time.Duration(1<<63 - 1), true},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"5", "Wed, 29 Apr 2026 12:00:30 GMT", "", "-3", "1e9", "99999999999999999999"} {
		f.Add(s)
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(s, now)
		if d < 0 {
			t.Fatalf("parseRetryAfter(%q) = %s", s, d)
		}
		if !ok && d != 0 {
			t.Fatalf("parseRetryAfter(%q) = %s but not ok", s, d)
		}
	})
}

func TestRetryNextWait(t *testing.T) {
	p, _ := newRetryPolicy(HTTPOptions{BackoffJitter: 0.000001})
	p.randFloat = func() float64 { return 0 }
	resp := func(h string) *http.Response {
		r := &http.Response{StatusCode: 503, Header: http.Header{}}
		if h != "" {
			r.Header.Set("Retry-After", h)
		}
		return r
	}
	tests := []struct {
		name     string
		ignore   bool
		failures int
		resp     *http.Response
		want     time.Duration
	}{
		{"network error uses backoff", false, 3, nil, 8 * time.Second},
		{"Retry-After wins over backoff", false, 3, resp("1"), time.Second},
		{"Retry-After on the first retry", false, 1, resp("2"), 2 * time.Second},
		{"Retry-After 0 falls back to backoff", false, 2, resp("0"), 4 * time.Second},
		{"bad Retry-After falls back to backoff", false, 2, resp("later"), 4 * time.Second},
		{"Retry-After capped", false, 1, resp("86400"), MaxRetryAfter},
		{"ignored when told", true, 2, resp("30"), 4 * time.Second},
	}
	for _, tt := range tests {
		p.respectRetryHdr = !tt.ignore
		if got := p.nextWait(tt.failures, tt.resp); got != tt.want {
			t.Errorf("%s: nextWait = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestRetryNeverSleepsPastDeadline(t *testing.T) {
	p, _ := newRetryPolicy(HTTPOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := p.waitBeforeRetry(ctx, time.Second); !errors.Is(err, errDeadlineTooClose) {
		t.Fatalf("wait past the deadline = %v", err)
	}
	if time.Since(start) > 20*time.Millisecond {
		t.Fatalf("returned after %s, want at once", time.Since(start))
	}
	if err := p.waitBeforeRetry(ctx, 50*time.Millisecond); err != nil {
		t.Fatalf("short wait = %v", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("short wait took %s", d)
	}
	if err := p.waitBeforeRetry(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := p.waitBeforeRetry(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel = %v", err)
	}
}

func TestRetryableStatus(t *testing.T) {
	p, _ := newRetryPolicy(HTTPOptions{})
	for code, want := range map[int]bool{200: false, 400: false, 401: false, 403: false, 404: false, 408: true, 409: false, 413: false, 429: true, 500: true, 501: false, 502: true, 503: true, 504: true} {
		if got := p.retryableStatus(&http.Response{StatusCode: code, Header: http.Header{}}); got != want {
			t.Errorf("retryableStatus(%d) = %v", code, got)
		}
	}
	r := &http.Response{StatusCode: 413, Header: http.Header{"Retry-After": {"3"}}}
	if !p.retryableStatus(r) {
		t.Error("413 with Retry-After is retried, as in urllib3")
	}
	p.respectRetryHdr = false
	if p.retryableStatus(r) {
		t.Error("413 with Retry-After retried although Retry-After is ignored")
	}
	if !unprocessedStatus(429) || !unprocessedStatus(408) || unprocessedStatus(503) || unprocessedStatus(500) {
		t.Error("unprocessedStatus is MLflow's {408, 429}")
	}
}
