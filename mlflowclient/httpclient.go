package mlflowclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// APIError is a tracking server's refusal: the HTTP status and MLflow's error code and message
// (the JSON body {"error_code", "message"}; for a non-JSON body, the code MLflow's client derives
// from the status and the start of the body). Its text never holds credentials.
type APIError struct {
	StatusCode int
	Code       string // e.g. RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE
	Message    string
	Method     string // the request, for the error text
	URL        string // without credentials and query
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tracking server: %s %s: HTTP %d", e.Method, e.URL, e.StatusCode)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + truncateRunes(e.Message, 1000))
		if utf8.RuneCountInString(e.Message) > 1000 {
			b.WriteString("...")
		}
	}
	switch e.StatusCode {
	case http.StatusUnauthorized:
		b.WriteString(" (the server did not accept the credentials: check MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN)")
	case http.StatusForbidden:
		b.WriteString(" (the user lacks permission for this experiment or run; ask the server's admin)")
	}
	if e.Code == "ENDPOINT_NOT_FOUND" {
		b.WriteString(" (is the tracking URI the address of an MLflow tracking server, with its --static-prefix if any?)")
	}
	return b.String()
}

// Is maps MLflow's error codes to the package's sentinel errors.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Code == "RESOURCE_DOES_NOT_EXIST"
	case ErrAlreadyExists:
		return e.Code == "RESOURCE_ALREADY_EXISTS"
	}
	return false
}

// httpStatusCode is mlflow.exceptions.HTTP_STATUS_TO_ERROR_CODE: the code MLflow's client reports
// for an error response without a JSON body.
func httpStatusCode(status int) string {
	switch status {
	case 400:
		return "BAD_REQUEST"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "ENDPOINT_NOT_FOUND"
	case 409:
		return "ABORTED"
	case 429:
		return "REQUEST_LIMIT_EXCEEDED"
	case 501:
		return "NOT_IMPLEMENTED"
	case 503:
		return "TEMPORARILY_UNAVAILABLE"
	}
	return "INTERNAL_ERROR"
}

// httpClient talks to one tracking server with MLflow's client's headers, auth, TLS settings and
// retry policy, always inside the caller's deadline.
type httpClient struct {
	base       *url.URL // the tracking URI without userinfo, query or fragment
	shown      string   // base as errors and the summary show it
	client     *http.Client
	transport  *http.Transport
	authHeader string
	workspace  string
	userAgent  string
	policy     retryPolicy
	secrets    []string // never shown: password, token, encoded credentials
}

// newHTTPClient prepares a client for the tracking URI. Credentials come from the URI's userinfo
// (https://user:pass@host, which wins, as with Python's requests) or from opts; basic auth wins
// over a bearer token, as in mlflow/utils/rest_utils.py.
func newHTTPClient(uri string, opts Options) (*httpClient, error) {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tracking URI %q is not an http(s)://host[:port][/path] address", RedactURI(uri))
	}
	ho := opts.HTTP
	user, pass := ho.Username, ho.Password
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			user, pass = u.User.Username(), p
		} else if u.User.Username() != "" {
			// https://TOKEN@host is how some proxies take a token; treat it as a user with an
			// empty password, which is what requests sends.
			user, pass = u.User.Username(), ""
		}
	}
	base := *u
	base.User = nil
	base.RawQuery, base.Fragment, base.RawFragment = "", "", ""
	base.Path = strings.TrimRight(base.Path, "/")
	base.RawPath = strings.TrimRight(base.RawPath, "/")

	policy, err := newRetryPolicy(ho)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := tlsConfig(ho)
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsCfg
	transport.DialContext = (&net.Dialer{Timeout: policy.requestTimeout, KeepAlive: 30 * time.Second}).DialContext
	transport.MaxIdleConnsPerHost = 16

	c := &httpClient{
		base:      &base,
		shown:     base.String(),
		transport: transport,
		client:    &http.Client{Transport: transport},
		workspace: ho.Workspace,
		userAgent: opts.UserAgent,
		policy:    policy,
	}
	if c.userAgent == "" {
		c.userAgent = "mltrack"
	}
	switch {
	case user != "" && (pass != "" || u.User != nil):
		enc := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
		c.authHeader = "Basic " + enc
		c.secrets = append(c.secrets, enc)
		if pass != "" {
			c.secrets = append(c.secrets, pass)
		}
	case ho.Token != "":
		c.authHeader = "Bearer " + ho.Token
		c.secrets = append(c.secrets, ho.Token)
	}
	if u.User != nil {
		c.secrets = append(c.secrets, u.User.String())
	}
	return c, nil
}

// tlsConfig applies MLflow's TLS settings: a CA bundle (file or directory) wins over
// InsecureTLS, as `verify=<path>` wins in mlflow/utils/rest_utils.py; a client certificate is one
// PEM file holding the certificate and its key.
func tlsConfig(o HTTPOptions) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.ServerCertPath != "" {
		pool, err := loadCAs(o.ServerCertPath)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	} else if o.InsecureTLS {
		cfg.InsecureSkipVerify = true
	}
	if o.ClientCertPath != "" {
		pemBytes, err := os.ReadFile(o.ClientCertPath)
		if err != nil {
			return nil, fmt.Errorf("MLFLOW_TRACKING_CLIENT_CERT_PATH: %w", err)
		}
		cert, err := tls.X509KeyPair(pemBytes, pemBytes)
		if err != nil {
			return nil, fmt.Errorf("MLFLOW_TRACKING_CLIENT_CERT_PATH %s: %v; it must be one PEM file holding the client certificate and its private key", o.ClientCertPath, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func loadCAs(path string) (*x509.CertPool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("MLFLOW_TRACKING_SERVER_CERT_PATH: %w", err)
	}
	files := []string{path}
	if st.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("MLFLOW_TRACKING_SERVER_CERT_PATH: %w", err)
		}
		files = files[:0]
		for _, e := range entries {
			if e.Type().IsRegular() {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
	}
	pool := x509.NewCertPool()
	n := 0
	for _, f := range files {
		pemBytes, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("MLFLOW_TRACKING_SERVER_CERT_PATH: %w", err)
		}
		if pool.AppendCertsFromPEM(pemBytes) {
			n++
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("MLFLOW_TRACKING_SERVER_CERT_PATH %s holds no PEM certificate; point it at the CA bundle that signed the server's certificate", path)
	}
	return pool, nil
}

// scrub removes every credential the client knows from a text that came from elsewhere (a
// server's message echoing a header, say).
func (c *httpClient) scrub(s string) string {
	for _, secret := range c.secrets {
		if len(secret) >= 3 {
			s = strings.ReplaceAll(s, secret, "***")
		}
	}
	return s
}

// endpoint is the URL of a path below the tracking URI, e.g. "/api/2.0/mlflow/runs/get".
func (c *httpClient) endpoint(p string) *url.URL {
	return c.base.JoinPath(p)
}

// call is one logical request, sent once or more.
type call struct {
	method string
	url    *url.URL
	// body opens the request body for one attempt (a fresh reader each time, so that retries
	// resend every byte); nil for no body. size is its length.
	body        func() (io.ReadCloser, error)
	size        int64
	contentType string
	// nonIdempotent marks writes that would happen twice if the server acted on the first
	// attempt and the answer was lost (runs/create). They are resent after an ambiguous failure
	// (timeout, reset, 5xx) only when beforeResend says the first one did not take effect.
	nonIdempotent bool
	// beforeResend looks for the effect of an earlier attempt. done=true stops with errDone.
	beforeResend func(ctx context.Context) (done bool, err error)
	noRetry      bool
	// streaming: the request may take long (an upload); the timeout is one of inactivity.
	streaming bool
	// permanent reports responses that must not be retried although their status is one that
	// normally is (a FileStore-backed server reports a param conflict as a 500).
	permanent func(e *APIError) bool
	// maxResponse bounds how much of a response is read (default 64 MiB).
	maxResponse int64
}

// errDone says that beforeResend found the write already done.
var errDone = errors.New("the earlier attempt took effect")

// errAttemptTimeout is the cause of an attempt cancelled by MLFLOW_HTTP_REQUEST_TIMEOUT.
var errAttemptTimeout = errors.New("no answer within the request timeout")

// outcome is the result of one attempt.
type outcome struct {
	resp      *http.Response // nil after a network error; its body is already read and closed
	body      []byte
	err       error
	retry     bool // another attempt may succeed
	ambiguous bool // the server may have acted on the request
}

// do sends a call with MLflow's retry policy and returns the body of a 2xx response.
func (c *httpClient) do(ctx context.Context, cl *call) ([]byte, error) {
	start := time.Now()
	failures := 0
	check := false
	var last outcome
	for {
		var o outcome
		if check {
			done, err := cl.beforeResend(ctx)
			switch {
			case err == nil && done:
				return nil, errDone
			case err == nil:
				check = false
				o = c.attempt(ctx, cl)
			default:
				// Still unknown whether the first attempt took effect: do not resend, wait and
				// look again.
				o = outcome{err: last.err, resp: last.resp, retry: true, ambiguous: true}
			}
		} else {
			o = c.attempt(ctx, cl)
		}
		if o.err == nil {
			return o.body, nil
		}
		last = o
		failures++
		if ctx.Err() != nil {
			return nil, o.err
		}
		if !o.retry || cl.noRetry {
			return nil, o.err
		}
		if o.ambiguous && cl.nonIdempotent {
			if cl.beforeResend == nil {
				return nil, o.err
			}
			check = true
		}
		if failures > c.policy.maxRetries {
			attempts := fmt.Sprintf("%d attempts", failures)
			if failures == 1 {
				attempts = "1 attempt"
			}
			return nil, fmt.Errorf("%w (gave up after %s in %s)", o.err, attempts, time.Since(start).Round(time.Millisecond))
		}
		wait := c.policy.nextWait(failures, o.resp)
		if err := c.policy.waitBeforeRetry(ctx, wait); err != nil {
			if errors.Is(err, errDeadlineTooClose) {
				return nil, fmt.Errorf("%w (stopped after %d attempts: the next retry, in %s, would come after the deadline)", o.err, failures, wait.Round(time.Millisecond))
			}
			return nil, fmt.Errorf("%w (%w while waiting to retry)", o.err, err)
		}
	}
}

// attempt sends a call once.
func (c *httpClient) attempt(ctx context.Context, cl *call) outcome {
	var actx context.Context
	var cancel context.CancelFunc
	var idle *time.Timer
	timeout := c.policy.requestTimeout
	if cl.streaming {
		// A large upload may take longer than the timeout in total; what must not exceed it is
		// a stall (the timeout of MLflow's client is one of connect and read, not of a whole
		// transfer).
		cctx, ccancel := context.WithCancelCause(ctx)
		idle = time.AfterFunc(timeout, func() { ccancel(errAttemptTimeout) })
		actx, cancel = cctx, func() { idle.Stop(); ccancel(context.Canceled) }
	} else {
		actx, cancel = context.WithTimeoutCause(ctx, timeout, errAttemptTimeout)
	}
	defer cancel()

	shownURL := c.showURL(cl.url)
	req, err := http.NewRequestWithContext(actx, cl.method, cl.url.String(), nil)
	if err != nil {
		return outcome{err: fmt.Errorf("%s %s: %w", cl.method, shownURL, err)}
	}
	if cl.body != nil {
		rc, err := cl.body()
		if err != nil {
			return outcome{err: err}
		}
		if cl.size == 0 {
			rc.Close()
			req.Body, req.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
		} else {
			wrap := func(rc io.ReadCloser) io.ReadCloser {
				if idle != nil {
					return &idleResetReader{rc: rc, timer: idle, d: timeout}
				}
				return rc
			}
			req.Body = wrap(rc)
			req.ContentLength = cl.size
			// Redirects (307/308) resend the body from a fresh reader.
			req.GetBody = func() (io.ReadCloser, error) {
				rc, err := cl.body()
				if err != nil {
					return nil, err
				}
				return wrap(rc), nil
			}
		}
		ct := cl.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if c.authHeader != "" {
		req.Header.Set("Authorization", c.authHeader)
	}
	if c.workspace != "" {
		req.Header.Set("X-MLFLOW-WORKSPACE", c.workspace)
	}

	resp, err := c.client.Do(req)
	if err != nil {
		return c.networkOutcome(ctx, actx, cl, shownURL, err)
	}
	defer resp.Body.Close()
	if idle != nil {
		idle.Reset(timeout)
	}
	limit := cl.maxResponse
	if limit <= 0 {
		limit = 64 << 20
	}
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if !ok {
		limit = 64 << 10
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		o := c.networkOutcome(ctx, actx, cl, shownURL, err)
		o.resp = resp
		return o
	}
	if int64(len(body)) > limit {
		if ok {
			return outcome{resp: resp, err: fmt.Errorf("%s %s: the answer is larger than %d MiB; is this an MLflow tracking server?", cl.method, shownURL, limit>>20)}
		}
		body = body[:limit]
	}
	if ok {
		return outcome{resp: resp, body: body}
	}
	apiErr := c.apiError(cl.method, shownURL, resp.StatusCode, body)
	o := outcome{resp: resp, err: apiErr, retry: c.policy.retryableStatus(resp) || serverPoolExhausted(resp.StatusCode, body), ambiguous: !unprocessedStatus(resp.StatusCode)}
	if o.retry && (artifactsNotServed(apiErr) || deterministicServerError(apiErr) || (cl.permanent != nil && cl.permanent(apiErr))) {
		o.retry = false
	}
	return o
}

// deterministicServerError recognises a 500 that MLflow itself raised for a reason that a
// retry cannot change (a run in an invalid state, a bad value), as opposed to INTERNAL_ERROR or a
// proxy's bare 5xx, which may be transient (a locked database, a restarting worker). MLflow's
// client retries these for minutes; mltrack reports them at once.
func deterministicServerError(e *APIError) bool {
	if e.StatusCode != 500 {
		return false
	}
	switch e.Code {
	case "INVALID_STATE", "INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST", "RESOURCE_ALREADY_EXISTS", "BAD_REQUEST", "PERMISSION_DENIED":
		return true
	}
	return false
}

// networkOutcome classifies a failure to get an answer.
func (c *httpClient) networkOutcome(ctx, actx context.Context, cl *call, shownURL string, err error) outcome {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // its URL is shown by us, without query
	}
	wrap := func(format string, args ...any) error {
		return fmt.Errorf("%s %s: "+format, append([]any{cl.method, shownURL}, args...)...)
	}
	if cerr := ctx.Err(); cerr != nil {
		return outcome{err: wrap("no answer from the tracking server before the deadline: %w", cerr)}
	}
	if errors.Is(context.Cause(actx), errAttemptTimeout) {
		return outcome{err: wrap("%w (%s; raise MLFLOW_HTTP_REQUEST_TIMEOUT if the server is just slow)", errAttemptTimeout, c.policy.requestTimeout), retry: true, ambiguous: true}
	}
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var verifyErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	// Certificate and protocol mismatches do not heal by retrying: fail at once, saying what to
	// set (MLflow's client would retry them for minutes).
	switch {
	case errors.As(err, &hostErr), errors.As(err, &invalidCert):
		return outcome{err: wrap("TLS: %w", err)}
	case errors.As(err, &unknownCA), errors.As(err, &verifyErr):
		return outcome{err: wrap("TLS: %w; set MLFLOW_TRACKING_SERVER_CERT_PATH to the CA bundle that signed the server's certificate (or MLFLOW_TRACKING_INSECURE_TLS=true to skip the check)", err)}
	case errors.As(err, &recordErr):
		return outcome{err: wrap("TLS: %w (does the server speak https?)", err)}
	case errors.Is(err, http.ErrSchemeMismatch):
		return outcome{err: wrap("%w; use an http:// tracking URI", err)}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "remote error" {
		// A TLS alert: the server refused the handshake, typically our client certificate.
		return outcome{err: wrap("TLS: the server refused the connection (%w); check MLFLOW_TRACKING_CLIENT_CERT_PATH", err)}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) || (errors.As(err, &opErr) && opErr.Op == "dial") {
		// The request never reached the server: safe to resend any request.
		return outcome{err: wrap("%w (is the tracking server running?)", err), retry: true}
	}
	return outcome{err: wrap("%w", err), retry: true, ambiguous: true}
}

// apiError turns an error response into an *APIError, reading MLflow's JSON error body when
// there is one.
func (c *httpClient) apiError(method, shownURL string, status int, body []byte) *APIError {
	e := &APIError{StatusCode: status, Method: method, URL: shownURL}
	var js struct {
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	if json.Unmarshal(body, &js) == nil && (js.ErrorCode != "" || js.Message != "") {
		e.Code, e.Message = js.ErrorCode, js.Message
	} else {
		e.Code = httpStatusCode(status)
		e.Message = summarizeBody(body)
	}
	e.Message = c.scrub(e.Message)
	return e
}

// summarizeBody makes a one-line excerpt of a non-JSON error body.
func summarizeBody(body []byte) string {
	s := strings.TrimSpace(string(bytes.ToValidUTF8(body, []byte("?"))))
	if s == "" {
		return ""
	}
	low := strings.ToLower(s)
	if strings.HasPrefix(low, "<!doctype html") || strings.HasPrefix(low, "<html") {
		if i := strings.Index(low, "<title>"); i >= 0 {
			if j := strings.Index(low[i:], "</title>"); j > 0 {
				return "HTML page: " + strings.TrimSpace(s[i+len("<title>"):i+j])
			}
		}
		return "an HTML page"
	}
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 300 {
		s = truncateRunes(s, 300) + "..."
	}
	return s
}

// showURL is a request URL as errors show it: no credentials, no query.
func (c *httpClient) showURL(u *url.URL) string {
	v := *u
	v.User = nil
	v.RawQuery, v.Fragment, v.RawFragment = "", "", ""
	return v.String()
}

// callJSON sends a JSON request to an MLflow REST endpoint (relative to /api/2.0/) and decodes
// the answer into out (nil to ignore it). GET requests carry their fields in query.
func (c *httpClient) callJSON(ctx context.Context, method, endpoint string, query url.Values, in, out any, tune ...func(*call)) error {
	u := c.endpoint("/api/2.0/" + endpoint)
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	cl := &call{method: method, url: u}
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, c.showURL(u), err)
		}
		cl.body = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		cl.size = int64(len(data))
	}
	for _, t := range tune {
		t(cl)
	}
	body, err := c.do(ctx, cl)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not MLflow's JSON (%v: %q); is the tracking URI the address of an MLflow tracking server?", method, c.showURL(u), err, truncateRunes(summarizeBody(body), 80))
	}
	return nil
}

func (c *httpClient) close() {
	c.transport.CloseIdleConnections()
}

// idleResetReader pushes back an inactivity deadline on every read of an upload's body.
type idleResetReader struct {
	rc    io.ReadCloser
	timer *time.Timer
	d     time.Duration
}

func (r *idleResetReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if n > 0 {
		r.timer.Reset(r.d)
	}
	return n, err
}

func (r *idleResetReader) Close() error { return r.rc.Close() }

// serverPoolExhausted recognises MLflow's answer when its database connection pool stayed full
// for the pool timeout (SQLAlchemy's "QueuePool limit of size N overflow M reached"): MLflow
// reports it as 400 BAD_REQUEST, which no client retries, although it is a passing overload (seen
// with 32 clients at once against a SQLite-backed server). It is retried like a 503.
func serverPoolExhausted(status int, body []byte) bool {
	return status == http.StatusBadRequest && bytes.Contains(body, []byte("QueuePool limit"))
}
