package redact

import (
	"net/url"
	"strings"
)

// StripURLCredentials replaces the userinfo of every URL in s with Mask:
// "https://user:pass@host/x" becomes "https://***@host/x", "https://TOKEN@github.com/o/r" becomes
// "https://***@github.com/o/r". The whole userinfo goes, user name included, because tokens are
// often passed as the user name (https://TOKEN@host, https://TOKEN:x-oauth-basic@host). The host,
// path and query are kept.
//
// A URL is recognised as scheme "://" authority, where the scheme is a letter followed by letters,
// digits, '+', '-' or '.', and the authority runs until '/', '?', '#', white space, a control
// character, or one of `"<>\` + "`" + `. The userinfo ends at the authority's last '@' (as Go's
// net/url and browsers read it), so an unescaped '@' inside a password does not leave part of it
// behind. Forms without "://" (git@github.com:o/r, mailto:) are left alone.
func StripURLCredentials(s string) string {
	var b strings.Builder
	last := 0 // s[:last] has been handled
	search := 0
	for {
		i := strings.Index(s[search:], "://")
		if i < 0 {
			break
		}
		i += search
		search = i + 3
		if !hasScheme(s[:i]) {
			continue
		}
		start := i + 3
		end := start
		for end < len(s) && isAuthorityByte(s[end]) {
			end++
		}
		at := strings.LastIndexByte(s[start:end], '@')
		if at < 0 {
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(Mask)
		last = start + at // keep the '@'
		search = start + at + 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// hasScheme reports whether prefix ends with a URL scheme.
func hasScheme(prefix string) bool {
	j := len(prefix)
	for j > 0 {
		c := prefix[j-1]
		if isAlpha(c) || ('0' <= c && c <= '9') || c == '+' || c == '-' || c == '.' {
			j--
			continue
		}
		break
	}
	// The scheme must start with a letter; skip leading non-letters ("1http://" → "http").
	for j < len(prefix) && !isAlpha(prefix[j]) {
		j++
	}
	return j < len(prefix)
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isAuthorityByte(c byte) bool {
	if c <= ' ' || c == 0x7f {
		return false
	}
	switch c {
	case '/', '?', '#', '"', '<', '>', '\\', '`':
		return false
	}
	return true
}

// urlSecrets returns the credentials in the userinfo of every URL in s: the password (as written
// and percent-decoded) when there is one, else the user name, which then is most likely a token.
func urlSecrets(s string) []string {
	var out []string
	search := 0
	for {
		i := strings.Index(s[search:], "://")
		if i < 0 {
			return out
		}
		i += search
		search = i + 3
		if !hasScheme(s[:i]) {
			continue
		}
		start := i + 3
		end := start
		for end < len(s) && isAuthorityByte(s[end]) {
			end++
		}
		at := strings.LastIndexByte(s[start:end], '@')
		if at < 0 {
			continue
		}
		userinfo := s[start : start+at]
		search = start + at + 1
		secret := userinfo
		if c := strings.IndexByte(userinfo, ':'); c >= 0 {
			secret = userinfo[c+1:]
		}
		if secret == "" {
			continue
		}
		out = append(out, secret)
		if dec, err := url.PathUnescape(secret); err == nil && dec != secret {
			out = append(out, dec)
		}
	}
}
