package mlflowclient

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MLflow's client defaults for talking to a tracking server (mlflow/environment_variables.py and
// urllib3's Retry, which mlflow/utils/request_utils.py configures).
const (
	DefaultHTTPMaxRetries     = 7
	MaxHTTPMaxRetries         = 10 // _MLFLOW_HTTP_REQUEST_MAX_RETRIES_LIMIT
	DefaultHTTPBackoffFactor  = 2.0
	MaxHTTPBackoffFactor      = 120.0 // _MLFLOW_HTTP_REQUEST_MAX_BACKOFF_FACTOR_LIMIT
	DefaultHTTPBackoffJitter  = 1.0   // seconds
	DefaultHTTPRequestTimeout = 120 * time.Second
	// MaxBackoff is urllib3's Retry.DEFAULT_BACKOFF_MAX: no computed wait is longer.
	MaxBackoff = 120 * time.Second
	// MaxRetryAfter bounds a server's Retry-After. urllib3 accepts up to 6 hours; mltrack keeps
	// the same ceiling as its own backoff so that a misconfigured proxy cannot park the end of a
	// command for hours (the caller's deadline bounds it further).
	MaxRetryAfter = MaxBackoff
)

// retryPolicy is MLflow's retry policy with the zero values of HTTPOptions replaced by MLflow's
// defaults.
type retryPolicy struct {
	maxRetries        int
	backoffFactor     float64
	jitter            float64 // seconds
	respectRetryHdr   bool
	randFloat         func() float64 // [0,1); replaceable in tests
	sleep             func(ctx context.Context, d time.Duration) error
	now               func() time.Time
	requestTimeout    time.Duration
	retryAfterCeiling time.Duration
}

// newRetryPolicy validates the options the way MLflow's client does (it refuses more than 10
// retries and a backoff factor above 120) and fills in its defaults. A negative MaxRetries means
// no retries at all (zero means MLflow's default of 7).
func newRetryPolicy(o HTTPOptions) (retryPolicy, error) {
	p := retryPolicy{
		maxRetries:        o.MaxRetries,
		backoffFactor:     o.BackoffFactor,
		jitter:            o.BackoffJitter,
		respectRetryHdr:   !o.IgnoreRetryAfter,
		randFloat:         rand.Float64,
		sleep:             sleepCtx,
		now:               time.Now,
		requestTimeout:    o.RequestTimeout,
		retryAfterCeiling: MaxRetryAfter,
	}
	switch {
	case p.maxRetries == 0:
		p.maxRetries = DefaultHTTPMaxRetries
	case p.maxRetries < 0:
		p.maxRetries = 0
	case p.maxRetries > MaxHTTPMaxRetries:
		return p, fmt.Errorf("MLFLOW_HTTP_REQUEST_MAX_RETRIES=%d is more than MLflow allows (%d); lower it", o.MaxRetries, MaxHTTPMaxRetries)
	}
	switch {
	case p.backoffFactor == 0:
		p.backoffFactor = DefaultHTTPBackoffFactor
	case p.backoffFactor < 0 || math.IsNaN(p.backoffFactor):
		return p, fmt.Errorf("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR=%v must not be negative", o.BackoffFactor)
	case p.backoffFactor > MaxHTTPBackoffFactor:
		return p, fmt.Errorf("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR=%v is more than MLflow allows (%v); lower it", o.BackoffFactor, MaxHTTPBackoffFactor)
	}
	switch {
	case p.jitter == 0:
		p.jitter = DefaultHTTPBackoffJitter
	case p.jitter < 0 || math.IsNaN(p.jitter):
		return p, fmt.Errorf("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER=%v must not be negative", o.BackoffJitter)
	}
	if p.requestTimeout <= 0 {
		p.requestTimeout = DefaultHTTPRequestTimeout
	}
	return p, nil
}

// backoff is urllib3 2.x's Retry.get_backoff_time after `failures` consecutive failed attempts:
// no wait before the first retry, then factor * 2**(failures-1) plus up to `jitter` seconds of
// uniform jitter, capped at 120 s. With MLflow's defaults: 0, 4, 8, 16, 32, 64, 120 s (+ jitter).
func backoff(failures int, factor, jitter float64, randFloat func() float64) time.Duration {
	if failures <= 1 {
		return 0
	}
	// 2**(failures-1) overflows nothing that matters: the cap applies long before.
	secs := factor * math.Pow(2, float64(failures-1))
	if jitter != 0 {
		secs += randFloat() * jitter
	}
	max := MaxBackoff.Seconds()
	if secs > max || math.IsInf(secs, 1) || math.IsNaN(secs) {
		secs = max
	}
	if secs < 0 {
		secs = 0
	}
	return time.Duration(secs * float64(time.Second))
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
// ok is false for an empty or malformed value. A date in the past yields zero.
func parseRetryAfter(value string, now time.Time) (d time.Duration, ok bool) {
	v := strings.TrimSpace(value)
	if v == "" {
		return 0, false
	}
	if isDigits(v) {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil { // more digits than an int64 holds: "very long"
			return time.Duration(math.MaxInt64), true
		}
		if secs > int64(math.MaxInt64/time.Second) {
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// nextWait is how long to wait before the next attempt after `failures` failed attempts, the last
// of which answered with resp (nil for a network error). A usable Retry-After wins over the
// computed backoff, as in urllib3 (a Retry-After of 0 falls back to the backoff, as there).
func (p retryPolicy) nextWait(failures int, resp *http.Response) time.Duration {
	if p.respectRetryHdr && resp != nil {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), p.now()); ok && d > 0 {
			if d > p.retryAfterCeiling {
				d = p.retryAfterCeiling
			}
			return d
		}
	}
	return backoff(failures, p.backoffFactor, p.jitter, p.randFloat)
}

// errDeadlineTooClose says that waiting for the next attempt would pass the caller's deadline.
var errDeadlineTooClose = errors.New("the next retry would come after the deadline")

// waitBeforeRetry sleeps d unless that would pass ctx's deadline, in which case it returns
// errDeadlineTooClose at once: a tracking call never holds the wrapped command's exit past the
// budget its caller gave it.
func (p retryPolicy) waitBeforeRetry(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !p.now().Add(d).Before(dl) {
		return errDeadlineTooClose
	}
	if d <= 0 {
		return nil
	}
	return p.sleep(ctx, d)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryableStatus reports whether MLflow's client retries a response with this status:
// urllib3's status_forcelist {408, 429, 500, 502, 503, 504}, plus 413/429/503 carrying a
// Retry-After header when the header is respected.
func (p retryPolicy) retryableStatus(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	case http.StatusRequestEntityTooLarge:
		return p.respectRetryHdr && resp.Header.Get("Retry-After") != ""
	}
	return false
}

// unprocessedStatus reports whether a status proves that the server did not act on the request
// (MLflow's _UNPROCESSED_REQUEST_RESPONSE_CODES), so a write that is not safe to repeat may be
// sent again. A 5xx may come after the server committed the write.
func unprocessedStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests
}
