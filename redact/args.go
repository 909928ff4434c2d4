package redact

import "strings"

// Strings masks a command line (argv) for storage. Every element goes through String (secret
// values, URL credentials), and the value in each of these forms is replaced by Mask when NAME is
// secret by IsSecretName:
//
//	--NAME=VALUE, -NAME=VALUE    → --NAME=***
//	--NAME VALUE, -NAME VALUE    → --NAME ***   (VALUE is the next element, unless it starts with '-')
//	NAME=VALUE                   → NAME=***     (an environment variable: make TOKEN=x, docker -e;
//	                                             or a config key: Hydra's wandb.api_key=x, ++db.password=x)
//	NAME: VALUE                  → NAME: ***    (an HTTP header: curl -H "Authorization: Bearer x")
//
// Not recognised: short flags whose meaning the name does not tell (mysql -pSECRET, curl -u
// user:pass), and secrets inside larger strings (sh -c "... --token x"), except secret values known
// to the Masker and URL credentials, which String catches anywhere. A boolean flag with a secret
// name followed by a positional argument (--use-auth-token train.py) masks that argument: the
// cost of a false alarm is a hidden argument, the cost of a miss is a leaked credential.
//
// argv is not modified.
func (m *Masker) Strings(argv []string) []string {
	out := make([]string, len(argv))
	maskNext := false
	for i, a := range argv {
		if maskNext && a != "" && !strings.HasPrefix(a, "-") {
			out[i] = Mask
			maskNext = false
			continue
		}
		maskNext = false
		if prefix, value, ok := splitSecretArg(a); ok {
			if value != "" {
				out[i] = prefix + Mask
			} else {
				out[i] = a
			}
			continue
		}
		if name, ok := flagName(a); ok && !strings.Contains(a, "=") && IsSecretName(name) {
			maskNext = true
		}
		out[i] = m.String(a)
	}
	return out
}

// Value masks one named value for storage, such as a param given as NAME=VALUE: all of it when
// NAME is secret (IsSecretName), else what String masks.
func (m *Masker) Value(name, value string) string {
	if value != "" && IsSecretName(name) {
		return Mask
	}
	return m.String(value)
}

// ArgSecrets returns the values that Strings hides by their form (see Strings), so that a Masker
// built With them also masks those values in the command's output. Switch words (true, false, …)
// are left out, as in FromEnviron.
func ArgSecrets(argv []string) []string {
	var out []string
	add := func(v string) {
		if v != "" && !isSwitchWord(v) {
			out = append(out, v)
		}
	}
	maskNext := false
	for _, a := range argv {
		if maskNext && a != "" && !strings.HasPrefix(a, "-") {
			add(a)
			maskNext = false
			continue
		}
		maskNext = false
		if _, value, ok := splitSecretArg(a); ok {
			add(value)
			// "Bearer TOKEN", "Basic BASE64": the credential is printed on its own too.
			if f := strings.Fields(value); len(f) > 1 {
				add(f[len(f)-1])
			}
			continue
		}
		if name, ok := flagName(a); ok && !strings.Contains(a, "=") && IsSecretName(name) {
			maskNext = true
		}
	}
	return out
}

// splitSecretArg recognises --NAME=VALUE, NAME=VALUE and "NAME: VALUE" with a secret NAME and
// returns the part to keep (up to and including the separator) and the value.
func splitSecretArg(a string) (prefix, value string, ok bool) {
	if eq := strings.IndexByte(a, '='); eq > 0 {
		name := a[:eq]
		if flag, isFlag := flagName(name); isFlag {
			name = flag
		} else if !isNameLike(name) {
			name = ""
		}
		if name != "" && IsSecretName(name) {
			return a[:eq+1], a[eq+1:], true
		}
	}
	if colon := strings.Index(a, ": "); colon > 0 && isHeaderName(a[:colon]) && IsSecretName(a[:colon]) {
		return a[:colon+2], a[colon+2:], true
	}
	return "", "", false
}

// flagName returns NAME for "-NAME" or "--NAME" (NAME not starting with '-').
func flagName(a string) (string, bool) {
	name := strings.TrimPrefix(a, "-")
	if name == a {
		return "", false
	}
	name = strings.TrimPrefix(name, "-")
	if name == "" || name[0] == '-' {
		return "", false
	}
	return name, true
}

// isHeaderName reports whether s can be an HTTP header name (letters, digits, '-', '_').
func isHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !('0' <= c && c <= '9') && c != '-' && c != '_' {
			return false
		}
	}
	return s != ""
}
