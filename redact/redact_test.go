package redact

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestMaskerBytes(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		minLen  int
		in      string
		want    string
	}{
		{"no secrets", nil, 0, "hello hunter22", "hello hunter22"},
		{"one", []string{"hunter22"}, 0, "pw=hunter22!", "pw=***!"},
		{"every occurrence", []string{"hunter22"}, 0, "hunter22 and hunter22", "*** and ***"},
		{"too short is left alone", []string{"abc", "hunter22"}, 0, "abc hunter22", "abc ***"},
		{"minLen 1", []string{"abc"}, 1, "xabcx", "x***x"},
		{"touching occurrences are one run", []string{"secret1"}, 0, "secret1secret1.", "***."},
		{"overlapping secrets are one run", []string{"abcdef", "defghi"}, 1, "xabcdefghiy", "x***y"},
		{"longest wins at a position", []string{"secret", "secret-longer"}, 0, "a secret-longer b", "a *** b"},
		{"self-overlapping secret", []string{"aaaaaa"}, 0, "baaaaaaaaab", "b***b"},
		{"binary", []string{"\x00\xff\x01secret"}, 0, "\x00\x00\xff\x01secret\xfe", "\x00***\xfe"},
		{"multi-line secret line by line", []string{"line-one\nline-two"}, 0, "line-one\r\nline-two\r\n", "***\r\n***\r\n"},
		{"duplicate secrets", []string{"hunter22", "hunter22"}, 0, "hunter22", "***"},
	}
	for _, tc := range tests {
		for _, multi := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/multi=%v", tc.name, multi), func(t *testing.T) {
				m := New(tc.secrets, tc.minLen)
				if multi {
					forceMulti(m)
				} else {
					forceIndex(m)
				}
				if got := string(m.Bytes([]byte(tc.in))); got != tc.want {
					t.Errorf("Bytes(%q) = %q, want %q", tc.in, got, tc.want)
				}
				// The same through the streaming writer, one byte per Write.
				var buf bytes.Buffer
				w := m.Writer(&buf)
				for i := 0; i < len(tc.in); i++ {
					if _, err := w.Write([]byte{tc.in[i]}); err != nil {
						t.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if buf.String() != tc.want {
					t.Errorf("Writer(%q) = %q, want %q", tc.in, buf.String(), tc.want)
				}
			})
		}
	}
}

// forceMulti makes m use the one-pass multi-pattern search whatever its number of secrets.
func forceMulti(m *Masker) {
	if m.Len() > 0 {
		m.multi = newMultiIndex(m.secrets)
	}
}

// forceIndex makes m search for each secret with bytes.Index whatever its number of secrets.
func forceIndex(m *Masker) { m.multi = nil }

func TestNilMasker(t *testing.T) {
	var m *Masker
	if got := m.String("https://u:p@h/ hunter22"); got != "https://***@h/ hunter22" {
		t.Errorf("nil String = %q", got)
	}
	if got := string(m.Bytes([]byte("hunter22"))); got != "hunter22" {
		t.Errorf("nil Bytes = %q", got)
	}
	var buf bytes.Buffer
	w := m.Writer(&buf)
	w.Write([]byte("hunter22"))
	w.Close()
	if buf.String() != "hunter22" {
		t.Errorf("nil Writer = %q", buf.String())
	}
	if m.With([]string{"hunter22"}).String("hunter22") != "***" {
		t.Error("nil With does not mask")
	}
}

func TestMaskerString(t *testing.T) {
	m := New([]string{"hunter22"}, 0)
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"password hunter22 here", "password *** here"},
		{"https://user:hunter22@host/x", "https://***@host/x"},
		{"https://user:other@host/x", "https://***@host/x"},
	}
	for _, tc := range tests {
		if got := m.String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestStripURLCredentials(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:pass@host", "https://***@host"},
		{"https://user:pass@host:8443/path?q=a@b#frag", "https://***@host:8443/path?q=a@b#frag"},
		{"https://ghp_token@github.com/o/r.git", "https://***@github.com/o/r.git"},
		{"postgres://u:p@ss@db:5432/x", "postgres://***@db:5432/x"},
		{"http://u:p@[::1]:5000/", "http://***@[::1]:5000/"},
		{"see http://a:b@x and ftp://c:d@y.", "see http://***@x and ftp://***@y."},
		{"MLFLOW_TRACKING_URI=https://me:pw@mlflow.example.com", "MLFLOW_TRACKING_URI=https://***@mlflow.example.com"},
		{"\"https://u:p@h\"", "\"https://***@h\""},
		{"https://host/path/a@b", "https://host/path/a@b"},
		{"https://host?x=a@b", "https://host?x=a@b"},
		{"git@github.com:o/r.git", "git@github.com:o/r.git"},
		{"mailto:someone@example.com", "mailto:someone@example.com"},
		{"://u:p@h", "://u:p@h"},
		{"nothing here", "nothing here"},
		{"ssh://git@github.com/o/r", "ssh://***@github.com/o/r"},
	}
	for _, tc := range tests {
		if got := StripURLCredentials(tc.in); got != tc.want {
			t.Errorf("StripURLCredentials(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFromEnviron(t *testing.T) {
	env := []string{
		"PATH=/usr/bin:/bin",
		"HOME=/home/me",
		"GITHUB_TOKEN=ghp_abcdefghijkl",
		"TOKENIZERS_PARALLELISM=false",
		"KEYBOARD=us-international",
		"SHORT_TOKEN=abc",
		"HF_HUB_DISABLE_IMPLICIT_TOKEN=1",
		"ENABLE_AUTH=enabled",
		"SSH_AUTH_SOCK=/tmp/ssh-XXXX/agent.123",
		"DATABASE_URL=postgres://app:s3cr%40tpw@db:5432/app",
		"GIT_REMOTE=https://tokenonly123@github.com/o/r",
		"MLFLOW_TRACKING_URI=https://alice:wonderland1@mlflow.example.com",
		"=C:=C:\\Users",
		"EMPTY_SECRET=",
		"garbage",
	}
	m := FromEnviron(env, DefaultMinLen)
	masked := []string{"ghp_abcdefghijkl", "s3cr%40tpw", "s3cr@tpw", "tokenonly123", "wonderland1"}
	kept := []string{"/usr/bin:/bin", "us-international", "abc", "enabled", "/tmp/ssh-XXXX/agent.123", "app", "alice", "false"}
	for _, s := range masked {
		if got := string(m.Bytes([]byte("<" + s + ">"))); got != "<***>" {
			t.Errorf("value %q not masked: %q", s, got)
		}
	}
	for _, s := range kept {
		if got := string(m.Bytes([]byte("<" + s + ">"))); got != "<"+s+">" {
			t.Errorf("value %q masked: %q", s, got)
		}
	}
	if m.Len() != len(masked) {
		t.Errorf("Len = %d, want %d", m.Len(), len(masked))
	}
}

func TestStrings(t *testing.T) {
	m := New([]string{"envsecret1"}, 0)
	tests := []struct {
		in, want []string
	}{
		{[]string{"python", "train.py", "--lr", "0.1"}, []string{"python", "train.py", "--lr", "0.1"}},
		{[]string{"x", "--password=hunter22"}, []string{"x", "--password=***"}},
		{[]string{"x", "-api-key=k"}, []string{"x", "-api-key=***"}},
		{[]string{"x", "--token", "abc123", "--lr", "1"}, []string{"x", "--token", "***", "--lr", "1"}},
		{[]string{"x", "--no-auth", "--lr", "1"}, []string{"x", "--no-auth", "--lr", "1"}},
		{[]string{"x", "--token"}, []string{"x", "--token"}},
		{[]string{"x", "--password="}, []string{"x", "--password="}},
		{[]string{"make", "deploy", "TOKEN=abc", "V=1"}, []string{"make", "deploy", "TOKEN=***", "V=1"}},
		{[]string{"docker", "run", "-e", "AWS_SECRET_ACCESS_KEY=xyz", "img"}, []string{"docker", "run", "-e", "AWS_SECRET_ACCESS_KEY=***", "img"}},
		{[]string{"curl", "-H", "Authorization: Bearer xyz", "https://u:p@h/"}, []string{"curl", "-H", "Authorization: ***", "https://***@h/"}},
		{[]string{"echo", "it is envsecret1"}, []string{"echo", "it is ***"}},
		{[]string{"x", "--keyboard", "us"}, []string{"x", "--keyboard", "us"}},
		{[]string{"x", "--key-file", "k.pem"}, []string{"x", "--key-file", "k.pem"}},
		{[]string{"x", "a=b=c", "--x=y"}, []string{"x", "a=b=c", "--x=y"}},
		{[]string{"python", "train.py", "wandb.api_key=abc", "++db.password=pw", "optimizer.lr=0.1", "data.tokenizer=gpt2"},
			[]string{"python", "train.py", "wandb.api_key=***", "++db.password=***", "optimizer.lr=0.1", "data.tokenizer=gpt2"}},
		{[]string{"x", "1TOKEN=abc", "=TOKEN"}, []string{"x", "1TOKEN=abc", "=TOKEN"}},
	}
	for _, tc := range tests {
		in := slices.Clone(tc.in)
		got := m.Strings(tc.in)
		if !slices.Equal(got, tc.want) {
			t.Errorf("Strings(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("Strings modified its argument")
		}
	}
}

func TestValue(t *testing.T) {
	m := New([]string{"hunter22"}, 0)
	tests := []struct{ name, value, want string }{
		{"api_key", "abc", "***"},
		{"db-password", "", ""},
		{"lr", "0.1", "0.1"},
		{"note", "pw is hunter22", "pw is ***"},
		{"uri", "https://u:p@h", "https://***@h"},
	}
	for _, tc := range tests {
		if got := m.Value(tc.name, tc.value); got != tc.want {
			t.Errorf("Value(%q, %q) = %q, want %q", tc.name, tc.value, got, tc.want)
		}
	}
}

func TestArgSecrets(t *testing.T) {
	argv := []string{"x", "--password=hunter22", "--token", "abc123", "--flag", "TOKEN=zzz",
		"-H", "Authorization: Bearer tok-123456", "--auth", "true", "--lr", "1"}
	want := []string{"hunter22", "abc123", "zzz", "Bearer tok-123456", "tok-123456"}
	if got := ArgSecrets(argv); !slices.Equal(got, want) {
		t.Errorf("ArgSecrets = %q, want %q", got, want)
	}
	m := New(nil, 0).With(ArgSecrets(argv))
	if got := m.String("tok-123456 hunter22"); got != "*** ***" {
		t.Errorf("With(ArgSecrets) String = %q", got)
	}
}

// TestWriterSplits writes the same stream with every split into two writes, and in random pieces.
func TestWriterSplits(t *testing.T) {
	secrets := []string{"s3cr3t-value", "another-secret-longer-one", "xyzxyz"}
	m := New(secrets, 0)
	in := []byte("start s3cr3t-value mid another-secret-longer-one xyzxyzxyz s3cr3t-values3cr3t-value end xyzxy")
	want := m.Bytes(in)
	for _, s := range secrets {
		if bytes.Contains(want, []byte(s)) {
			t.Fatalf("Bytes left %q in %q", s, want)
		}
	}
	for cut := 0; cut <= len(in); cut++ {
		var buf bytes.Buffer
		w := m.Writer(&buf)
		w.Write(in[:cut])
		w.Write(in[cut:])
		w.Close()
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("split at %d: %q, want %q", cut, buf.Bytes(), want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		var buf bytes.Buffer
		w := m.Writer(&buf)
		for rest := in; len(rest) > 0; {
			n := min(len(rest), 1+r.IntN(10))
			w.Write(rest[:n])
			rest = rest[n:]
		}
		w.Close()
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("random split: %q, want %q", buf.Bytes(), want)
		}
	}
}

// TestWriterHoldsBackLittle checks that the writer passes bytes on as soon as no secret can start
// in them, and keeps at most the longest secret's length minus one.
func TestWriterHoldsBackLittle(t *testing.T) {
	m := New([]string{"0123456789"}, 0)
	var buf bytes.Buffer
	w := m.Writer(&buf)
	w.Write(bytes.Repeat([]byte("a"), 100))
	if buf.Len() != 100-9 {
		t.Errorf("after 100 bytes, %d passed on, want %d", buf.Len(), 91)
	}
	w.Write([]byte("012345678"))
	if buf.Len() != 100 {
		t.Errorf("held back %d bytes, want 9", 109-buf.Len())
	}
	w.Write([]byte("9"))
	w.Close()
	if got := buf.String(); got != strings.Repeat("a", 100)+"***" {
		t.Errorf("got %q", got)
	}
}

func TestWriterBigWrite(t *testing.T) {
	m := New([]string{"needle-in-haystack"}, 0)
	in := bytes.Repeat([]byte("hay "), 100000) // 400 KB, several chunks
	copy(in[chunkSize-5:], "needle-in-haystack")
	copy(in[len(in)-18:], "needle-in-haystack")
	var buf bytes.Buffer
	w := m.Writer(&buf)
	w.Write(in)
	w.Close()
	if !bytes.Equal(buf.Bytes(), m.Bytes(in)) || bytes.Count(buf.Bytes(), []byte(Mask)) != 2 {
		t.Errorf("big write: %d masks", bytes.Count(buf.Bytes(), []byte(Mask)))
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, errors.New("disk full")
}

func TestWriterError(t *testing.T) {
	fw := &failWriter{}
	w := New([]string{"hunter22"}, 0).Writer(fw)
	if _, err := w.Write(bytes.Repeat([]byte("x"), 100)); err == nil {
		t.Fatal("no error")
	}
	if _, err := w.Write([]byte("y")); err == nil || fw.n != 1 {
		t.Errorf("error not sticky: %v, %d writes", err, fw.n)
	}
	if err := w.Close(); err == nil {
		t.Error("Close: no error")
	}
	if _, err := w.Write([]byte("z")); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
}

// FuzzMaskerWriter: for any input split anywhere, Writer's output equals Bytes of the whole input,
// and no secret (without '*', which Mask itself could complete) appears in it.
func FuzzMaskerWriter(f *testing.F) {
	f.Add([]byte("abc secret123 def"), "secret123", "c secr", uint64(1))
	f.Add([]byte("aaaaaaaaaaaa"), "aaa", "aaaa", uint64(7))
	f.Add([]byte("xyzxyzxyz"), "zxy", "yzx", uint64(3))
	f.Add([]byte{0, 1, 2, 0xff, 0, 1}, "\x00\x01", "\xff", uint64(5))
	f.Fuzz(func(t *testing.T, in []byte, s1, s2 string, seed uint64) {
		// Both search strategies, each through Bytes and Writer, agree.
		m, other := New([]string{s1, s2}, 1), New([]string{s1, s2}, 1)
		if seed%2 == 1 {
			forceMulti(m)
			forceIndex(other)
		} else {
			forceIndex(m)
			forceMulti(other)
		}
		want := m.Bytes(in)
		if got := other.Bytes(in); !bytes.Equal(got, want) {
			t.Fatalf("search strategies disagree: %q != %q", got, want)
		}
		for _, s := range []string{s1, s2} {
			if s != "" && !strings.Contains(s, "*") && bytes.Contains(want, []byte(s)) {
				t.Fatalf("secret %q survives in %q", s, want)
			}
		}
		r := rand.New(rand.NewPCG(seed, seed>>7))
		var buf bytes.Buffer
		w := m.Writer(&buf)
		for rest := in; len(rest) > 0; {
			n := min(len(rest), r.IntN(len(in)+1))
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("Writer %q != Bytes %q (secrets %q %q)", buf.Bytes(), want, s1, s2)
		}
	})
}

func FuzzStripURLCredentials(f *testing.F) {
	f.Add("https://u:p@h/x")
	f.Add("a://@")
	f.Add("x://a@b@c d://e@f")
	f.Fuzz(func(t *testing.T, s string) {
		out := StripURLCredentials(s)
		if StripURLCredentials(out) != out {
			t.Fatalf("not idempotent: %q → %q → %q", s, out, StripURLCredentials(out))
		}
		for _, sec := range urlSecrets(out) {
			if sec != Mask {
				t.Fatalf("credential %q left in %q", sec, out)
			}
		}
	})
}

func benchmarkWriter(b *testing.B, secrets []string, every int) {
	m := New(secrets, 0)
	// Log-like text: lines of words and numbers; every n-th line prints the first secret.
	var text []byte
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; len(text) < 64<<10; i++ {
		text = append(text, "epoch 12 step 3456 loss=0.1234 lr=3e-4 tokens/s=98765 "...)
		text = append(text, byte('a'+r.IntN(26)))
		if every > 0 && i%every == 0 {
			text = append(text, secrets[0]...)
		}
		text = append(text, '\n')
	}
	w := m.Writer(io.Discard)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for range b.N {
		w.Write(text)
	}
	w.Close()
}

// randomTokens returns n secrets like API tokens: a common prefix and random letters and digits.
func randomTokens(n, length int, prefix string) []string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	r := rand.New(rand.NewPCG(uint64(n), uint64(length)))
	var out []string
	for range n {
		t := []byte(prefix)
		for len(t) < length {
			t = append(t, alphabet[r.IntN(len(alphabet))])
		}
		out = append(out, string(t))
	}
	return out
}

// BenchmarkMaskerWriter reports the streaming masker's throughput (MB/s) on log-like text.
func BenchmarkMaskerWriter(b *testing.B) {
	b.Run("no-secrets", func(b *testing.B) { benchmarkWriter(b, nil, 0) })
	b.Run("1-token", func(b *testing.B) { benchmarkWriter(b, randomTokens(1, 40, "ghp_"), 0) })
	b.Run("3-tokens", func(b *testing.B) {
		benchmarkWriter(b, []string{"sk-proj-abcdef012345", "hf_QWERTYuiop123456", "password123"}, 0)
	})
	b.Run("10-tokens", func(b *testing.B) { benchmarkWriter(b, randomTokens(10, 40, "tok_"), 0) })
	b.Run("50-tokens", func(b *testing.B) { benchmarkWriter(b, randomTokens(50, 40, ""), 0) })
	b.Run("10-short", func(b *testing.B) { benchmarkWriter(b, randomTokens(10, 6, ""), 0) })
	b.Run("sharing-text", func(b *testing.B) {
		var s []string
		for i := range 20 {
			s = append(s, fmt.Sprintf("%c-loss=0.1234-tokens/s", 'a'+i))
		}
		benchmarkWriter(b, s, 0)
	})
	b.Run("3-tokens-every-line", func(b *testing.B) { benchmarkWriter(b, randomTokens(3, 40, "ghp_"), 1) })
	b.Run("10-tokens-every-line", func(b *testing.B) { benchmarkWriter(b, randomTokens(10, 40, "ghp_"), 1) })
}
