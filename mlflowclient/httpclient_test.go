package mlflowclient

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// restHeaderServer answers experiments/get and records the headers of the last request.
type restHeaderServer struct {
	*httptest.Server
	mu     sync.Mutex
	header http.Header
}

func newRestHeaderServer(t *testing.T, tlsServer bool) *restHeaderServer {
	s := &restHeaderServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.header = r.Header.Clone()
		s.mu.Unlock()
		fmt.Fprint(w, `{"experiment": {"experiment_id": "1", "name": "x", "lifecycle_stage": "active", "creation_time": "1714380000000"}}`)
	})
	if tlsServer {
		s.Server = httptest.NewUnstartedServer(h)
		s.Server.StartTLS()
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

func (s *restHeaderServer) last() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.header
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestHTTPAuthAndHeaders(t *testing.T) {
	srv := newRestHeaderServer(t, false)
	withUser := strings.Replace(srv.URL, "http://", "http://urluser:urlpass@", 1)
	tests := []struct {
		name, uri string
		http      HTTPOptions
		wantAuth  string
	}{
		{"none", srv.URL, HTTPOptions{}, ""},
		{"basic", srv.URL, HTTPOptions{Username: "u", Password: "p"}, basic("u", "p")},
		{"basic wins over token", srv.URL, HTTPOptions{Username: "u", Password: "p", Token: "tok"}, basic("u", "p")},
		{"token", srv.URL, HTTPOptions{Token: "tok"}, "Bearer tok"},
		{"username alone is not basic auth", srv.URL, HTTPOptions{Username: "u", Token: "tok"}, "Bearer tok"},
		{"credentials in the URI", withUser, HTTPOptions{}, basic("urluser", "urlpass")},
		{"the URI's credentials win", withUser, HTTPOptions{Username: "u", Password: "p", Token: "tok"}, basic("urluser", "urlpass")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := restOpen(t, tt.uri, Options{HTTP: tt.http, UserAgent: "mltrack/9.9"})
			exp, err := st.GetExperiment(context.Background(), "1")
			if err != nil {
				t.Fatal(err)
			}
			if exp.CreationTime != 1714380000000 {
				t.Fatalf("int64 as a string not decoded: %+v", exp)
			}
			h := srv.last()
			if got := h.Get("Authorization"); got != tt.wantAuth {
				t.Errorf("Authorization = %q, want %q", got, tt.wantAuth)
			}
			if got := h.Get("User-Agent"); got != "mltrack/9.9" {
				t.Errorf("User-Agent = %q", got)
			}
			if h.Get("X-Mlflow-Workspace") != "" {
				t.Errorf("workspace header sent without a workspace")
			}
			if st.URI() != srv.URL {
				t.Errorf("URI() = %q, want %q", st.URI(), srv.URL)
			}
		})
	}

	st := restOpen(t, srv.URL+"/", Options{HTTP: HTTPOptions{Workspace: "team-a"}})
	if _, err := st.GetExperiment(context.Background(), "1"); err != nil {
		t.Fatal(err)
	}
	if h := srv.last(); h.Get("X-MLFLOW-WORKSPACE") != "team-a" || !strings.HasPrefix(h.Get("User-Agent"), "mltrack") {
		t.Errorf("headers = %v", h)
	}
	if st.URI() != srv.URL {
		t.Errorf("URI() keeps a trailing slash: %q", st.URI())
	}
}

func TestHTTPRedaction(t *testing.T) {
	const password, token = "hunter2-secret", "tok-abcdef-123"
	// A server that echoes what it received, credentials included, in its error messages.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"error_code": "INVALID_PARAMETER_VALUE", "message": "bad header %s for %s"}`, r.Header.Get("Authorization"), password)
	}))
	defer srv.Close()
	uri := strings.Replace(srv.URL, "http://", "http://alice:"+password+"@", 1) + "/prefix?token=" + token

	st := restOpen(t, uri, Options{HTTP: HTTPOptions{Token: token}})
	shown := []string{st.URI(), st.RunURL("3", "abc")}
	_, err := st.GetExperiment(context.Background(), "1")
	if err == nil {
		t.Fatal("want an error")
	}
	shown = append(shown, err.Error())

	// Connection refused, with credentials in the URI.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "https://bob:" + password + "@" + ln.Addr().String()
	ln.Close()
	st2 := restOpen(t, dead, Options{HTTP: HTTPOptions{MaxRetries: -1}})
	_, err = st2.CreateExperiment(context.Background(), "x")
	if err == nil {
		t.Fatal("want an error")
	}
	shown = append(shown, err.Error(), st2.URI())
	for _, s := range shown {
		for _, secret := range []string{password, token, base64.StdEncoding.EncodeToString([]byte("alice:" + password))} {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows a credential", s)
			}
		}
	}
	if want := srv.URL + "/prefix"; st.URI() != want {
		t.Errorf("URI() = %q, want %q", st.URI(), want)
	}
	if want := srv.URL + "/prefix/#/experiments/3/runs/abc"; st.RunURL("3", "abc") != want {
		t.Errorf("RunURL = %q, want %q", st.RunURL("3", "abc"), want)
	}
	t.Logf("errors: %v", shown[2:])
}

func TestHTTPAPIErrorIs(t *testing.T) {
	tests := []struct {
		code          string
		notFound, dup bool
	}{
		{"RESOURCE_DOES_NOT_EXIST", true, false},
		{"RESOURCE_ALREADY_EXISTS", false, true},
		{"ENDPOINT_NOT_FOUND", false, false}, // a wrong URL is not a missing experiment
		{"INVALID_PARAMETER_VALUE", false, false},
	}
	for _, tt := range tests {
		err := fmt.Errorf("wrapped: %w", &APIError{StatusCode: 404, Code: tt.code})
		if errors.Is(err, ErrNotFound) != tt.notFound || errors.Is(err, ErrAlreadyExists) != tt.dup {
			t.Errorf("%s: Is(ErrNotFound)=%v Is(ErrAlreadyExists)=%v", tt.code, errors.Is(err, ErrNotFound), errors.Is(err, ErrAlreadyExists))
		}
	}
}

func TestHTTPNonJSONErrors(t *testing.T) {
	tests := []struct {
		status   int
		body     string
		wantCode string
		wantMsg  string
	}{
		{404, "", "ENDPOINT_NOT_FOUND", "is the tracking URI the address of an MLflow tracking server"},
		{401, "You are not authenticated.", "UNAUTHENTICATED", "MLFLOW_TRACKING_PASSWORD"},
		{403, "Permission denied", "PERMISSION_DENIED", "lacks permission"},
		{400, "<!DOCTYPE html><html><head><title>Bad Gateway Thing</title></head></html>", "BAD_REQUEST", "HTML page: Bad Gateway Thing"},
	}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tt.status)
			fmt.Fprint(w, tt.body)
		}))
		st := restOpen(t, srv.URL, Options{})
		_, err := st.GetExperiment(context.Background(), "1")
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status || apiErr.Code != tt.wantCode || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("HTTP %d %q: %v", tt.status, tt.body, err)
		}
		srv.Close()
	}

	// 200 with something that is not MLflow's JSON: a web server at the wrong address.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><body>hello</body></html>")
	}))
	defer srv.Close()
	st := restOpen(t, srv.URL, Options{})
	if _, err := st.GetExperiment(context.Background(), "1"); err == nil || !strings.Contains(err.Error(), "not MLflow's JSON") {
		t.Errorf("HTML answer: %v", err)
	}
}

// restWriteCert makes a self-signed certificate (a CA when isCA) and writes cert and key as PEM.
func restWriteCert(t *testing.T, dir, name string, isCA bool, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage) (*x509.Certificate, *ecdsa.PrivateKey, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  isCA,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{usage},
	}
	if isCA {
		tmpl.ExtKeyUsage = nil // a CA restricts nothing
	}
	tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	keyDER, _ := x509.MarshalECPrivateKey(key)
	p := filepath.Join(dir, name+".pem")
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})...)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key, p
}

func TestHTTPTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey, caPath := restWriteCert(t, dir, "ca", true, nil, nil, x509.ExtKeyUsageServerAuth)
	serverCert, serverKey, _ := restWriteCert(t, dir, "server", false, ca, caKey, x509.ExtKeyUsageServerAuth)
	_, _, clientPath := restWriteCert(t, dir, "client", false, ca, caKey, x509.ExtKeyUsageClientAuth)
	otherCA, _, otherCAPath := restWriteCert(t, dir, "other-ca", true, nil, nil, x509.ExtKeyUsageServerAuth)
	_ = otherCA

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"experiment": {"experiment_id": "1", "name": "x"}}`)
	}))
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{serverCert.Raw}, PrivateKey: serverKey}},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    pool,
	}
	srv.StartTLS()
	defer srv.Close()
	mtls := httptest.NewUnstartedServer(srv.Config.Handler)
	mtls.TLS = srv.TLS.Clone()
	mtls.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	mtls.StartTLS()
	defer mtls.Close()

	tests := []struct {
		name    string
		url     string
		opts    HTTPOptions
		wantErr string
	}{
		{"unknown CA fails at once, saying what to set", srv.URL, HTTPOptions{}, "MLFLOW_TRACKING_SERVER_CERT_PATH"},
		{"CA bundle", srv.URL, HTTPOptions{ServerCertPath: caPath}, ""},
		{"CA directory", srv.URL, HTTPOptions{ServerCertPath: dir}, ""},
		{"insecure", srv.URL, HTTPOptions{InsecureTLS: true}, ""},
		{"CA bundle wins over insecure", srv.URL, HTTPOptions{ServerCertPath: otherCAPath, InsecureTLS: true}, "certificate"},
		{"client certificate", mtls.URL, HTTPOptions{ServerCertPath: caPath, ClientCertPath: clientPath}, ""},
		{"client certificate missing", mtls.URL, HTTPOptions{ServerCertPath: caPath}, "certificate"},
		{"http to an https server", strings.Replace(srv.URL, "https:", "http:", 1), HTTPOptions{MaxRetries: -1}, "HTTP 400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := restOpen(t, tt.url, Options{HTTP: tt.opts})
			start := time.Now()
			_, err := st.GetExperiment(context.Background(), "1")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
			}
			// MLflow's default backoff (0, 4, 8, 16 ... s) would make retrying take far longer; the
			// bound is loose because a loaded CI machine can take seconds for one handshake.
			if time.Since(start) > 20*time.Second {
				t.Fatalf("took %s: a certificate error was retried", time.Since(start))
			}
			t.Logf("%v", err)
		})
	}

	for _, bad := range []HTTPOptions{{ServerCertPath: filepath.Join(dir, "missing.pem")}, {ServerCertPath: clientPath + ".nope"}, {ClientCertPath: caPath + ".nope"}} {
		if _, err := OpenREST(srv.URL, Options{HTTP: bad}); err == nil {
			t.Errorf("OpenREST(%+v) accepted a missing file", bad)
		}
	}
	certOnly := filepath.Join(dir, "cert-only.pem")
	os.WriteFile(certOnly, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}), 0o600)
	if _, err := OpenREST(srv.URL, Options{HTTP: HTTPOptions{ClientCertPath: certOnly}}); err == nil || !strings.Contains(err.Error(), "private key") {
		t.Errorf("client cert without key: %v", err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	if _, err := OpenREST(srv.URL, Options{HTTP: HTTPOptions{ServerCertPath: notPEM}}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("CA bundle that is not PEM: %v", err)
	}
}

func TestHTTPOpenRejects(t *testing.T) {
	for _, uri := range []string{"http://", "ftp://host", "http:///path", "://x"} {
		if _, err := OpenREST(uri, Options{}); err == nil {
			t.Errorf("OpenREST(%q) accepted", uri)
		}
	}
	if _, err := OpenREST("http://127.0.0.1:5000", Options{HTTP: HTTPOptions{MaxRetries: 11}}); err == nil {
		t.Error("OpenREST accepted 11 retries")
	}
}
