// Package redact keeps secrets out of everything mltrack stores: captured logs, params and tags,
// the recorded command line, error messages, the journal. It never touches what the command writes
// to the terminal.
//
// Two things are masked:
//   - known secret values: the values of environment variables whose names mark them as secret
//     (IsSecretName), passwords found in URL userinfo anywhere in the environment, and values the
//     caller adds (for example from secret-named command-line flags, see ArgSecrets);
//   - credentials in URLs (scheme://user:password@host) in short strings (Masker.String), whatever
//     their origin.
//
// Every masked stretch of bytes becomes Mask ("***").
package redact

import (
	"bytes"
	"slices"
	"strings"
)

// Mask replaces every masked stretch of bytes.
const Mask = "***"

// DefaultMinLen is the shortest value masked by default. Shorter values ("1", "true", "dev", a
// port number) occur everywhere in ordinary output: masking them would wreck the logs, and a
// short value masked at each of its occurrences gives itself away by where the masks appear.
// Real credentials are far longer than 6 bytes; a 6-byte password is still masked.
const DefaultMinLen = 6

// Masker masks a fixed set of secret values. It is safe for concurrent use; a nil *Masker masks no
// values (String still strips URL credentials).
type Masker struct {
	// secrets are distinct, longest first, so that at one position the longest secret wins.
	secrets [][]byte
	maxLen  int
	minLen  int
	// multi finds all secrets in one pass when there are too many for one search per secret.
	multi *multiIndex
}

// New returns a Masker for these values. Values shorter than minLen bytes are left alone;
// minLen <= 0 means DefaultMinLen. A value spanning several lines also masks each of its lines
// (at least minLen long) on its own, because a terminal rewrites "\n" as "\r\n" and a multi-line
// secret printed through a pty no longer matches as a whole.
func New(secrets []string, minLen int) *Masker {
	if minLen <= 0 {
		minLen = DefaultMinLen
	}
	m := &Masker{minLen: minLen}
	m.add(secrets)
	return m
}

// With returns a Masker that masks m's values and these (same minimum length). m is unchanged.
func (m *Masker) With(secrets []string) *Masker {
	if m == nil {
		return New(secrets, 0)
	}
	n := &Masker{minLen: m.minLen}
	n.secrets = append(n.secrets, m.secrets...)
	n.add(secrets)
	return n
}

func (m *Masker) add(values []string) {
	seen := make(map[string]bool, len(m.secrets)+len(values))
	for _, s := range m.secrets {
		seen[string(s)] = true
	}
	addOne := func(v string) {
		if len(v) < m.minLen || seen[v] {
			return
		}
		seen[v] = true
		m.secrets = append(m.secrets, []byte(v))
	}
	for _, v := range values {
		addOne(v)
		if strings.ContainsAny(v, "\r\n") {
			for _, line := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
				addOne(line)
			}
		}
	}
	slices.SortStableFunc(m.secrets, func(a, b []byte) int { return len(b) - len(a) })
	if len(m.secrets) > 0 {
		m.maxLen = len(m.secrets[0])
	}
	m.multi = nil
	if len(m.secrets) > maxIndexSearches {
		m.multi = newMultiIndex(m.secrets)
	}
}

// Len is the number of values m masks.
func (m *Masker) Len() int {
	if m == nil {
		return 0
	}
	return len(m.secrets)
}

// Bytes returns b with every secret value masked: each maximal run of bytes covered by at least one
// occurrence of a secret (occurrences may overlap or touch) becomes one Mask. So no secret, nor
// any part of one that overlaps another, survives, and the result does not depend on the order of
// the secrets. It is exactly what Writer produces for the same bytes, however they are split
// into writes. Bytes does not touch URL credentials (see String). b is not modified; when nothing is
// masked, b itself is returned.
func (m *Masker) Bytes(b []byte) []byte {
	out, _ := m.maskBytes(b)
	return out
}

func (m *Masker) maskBytes(b []byte) ([]byte, bool) {
	if m.Len() == 0 {
		return b, false
	}
	var st scanState
	st.init(len(m.secrets))
	out, _ := m.scan(&st, b, true, make([]byte, 0, len(b)))
	if !st.masked {
		return b, false
	}
	return out, true
}

// String masks secret values (as Bytes does) and then replaces the userinfo of every URL in s
// (see StripURLCredentials). Use it for params, tags, error messages, single arguments.
func (m *Masker) String(s string) string {
	if out, masked := m.maskBytes([]byte(s)); masked {
		s = string(out)
	}
	return StripURLCredentials(s)
}

// scanState is what a scan carries from one buffer to the next, plus the search cache for the
// current buffer.
type scanState struct {
	inRun    bool // the last byte handled was masked
	coverEnd int  // while inRun: end of the masked run, relative to the buffer start
	masked   bool // anything was masked at all

	// Search cache, valid within one buffer. Searches start at non-decreasing positions, so a cached
	// occurrence at or after the new start is still the leftmost one.
	next       []int // index search: per secret, its next occurrence, -1 for none, -2 for not searched
	hitS, hitK int   // multi-pattern search: the last hit, hitS -2 for not searched
}

func (st *scanState) init(n int) {
	st.next = make([]int, n)
}

func (st *scanState) reset() {
	for k := range st.next {
		st.next[k] = -2
	}
	st.hitS = -2
}

// scan masks buf onto out and returns out and how many bytes of buf it is done with. Unless final,
// it keeps the last maxLen-1 bytes: a secret starting there may continue in the next buffer. The
// caller passes those bytes again at the start of the next buffer, and st.coverEnd is made relative
// to that.
func (m *Masker) scan(st *scanState, buf []byte, final bool, out []byte) ([]byte, int) {
	emitEnd := len(buf)
	if !final {
		emitEnd = len(buf) - (m.maxLen - 1)
	}
	if emitEnd <= 0 {
		return out, 0
	}
	// Every occurrence found lies wholly in buf; only those starting before emitEnd may be acted
	// on, because a longer secret starting at the same place might not be complete yet.
	st.reset()
	i := 0
	from := 0
	for i < emitEnd {
		s, k := m.find(st, buf, from, emitEnd)
		if st.inRun {
			if k >= 0 && s <= st.coverEnd {
				// Overlapping or touching occurrence: the run grows.
				st.coverEnd = max(st.coverEnd, s+len(m.secrets[k]))
				from = s + 1
				continue
			}
			if st.coverEnd < emitEnd || (final && st.coverEnd <= emitEnd) {
				i = st.coverEnd
				st.inRun = false
				continue
			}
			// The run reaches past what can be decided; it goes on in the next buffer.
			i = emitEnd
			break
		}
		if k < 0 {
			out = append(out, buf[i:emitEnd]...)
			i = emitEnd
			break
		}
		out = append(out, buf[i:s]...)
		out = append(out, Mask...)
		st.masked = true
		st.inRun = true
		st.coverEnd = s + len(m.secrets[k])
		i = s
		from = s + 1
	}
	if st.inRun {
		st.coverEnd -= emitEnd
	}
	return out, emitEnd
}

// find returns the leftmost occurrence of any secret starting in [from, limit), and the longest
// secret there; k < 0 when there is none. Calls within one buffer must not decrease from.
func (m *Masker) find(st *scanState, buf []byte, from, limit int) (s, k int) {
	if m.multi != nil {
		if st.hitS == -2 || (st.hitS >= 0 && st.hitS < from) {
			st.hitS, st.hitK = m.multi.find(buf, from, limit, m.secrets)
		}
		if st.hitS < 0 || st.hitS >= limit {
			return -1, -1
		}
		return st.hitS, st.hitK
	}
	k, s = -1, 0
	for j, n := range st.next {
		if n == -2 || (n >= 0 && n < from) {
			n = -1
			if from < len(buf) {
				if x := bytes.Index(buf[from:], m.secrets[j]); x >= 0 {
					n = from + x
				}
			}
			st.next[j] = n
		}
		if n >= 0 && n < limit && (k < 0 || n < s) {
			k, s = j, n
		}
	}
	return s, k
}
