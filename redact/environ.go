package redact

import "strings"

// FromEnviron returns a Masker for the secrets in an environment ("NAME=VALUE" entries, as
// os.Environ returns them): the value of every variable whose name IsSecretName, and the
// credentials in the userinfo of any URL in any value (see urlSecrets: the password, or the user
// name when there is no password). Values shorter than minLen (<= 0: DefaultMinLen) are left alone,
// and so are values that are plain switch words (true, false, yes, no, on, off, enabled, disabled,
// none, null, auto, default, unset), which secret-named variables often hold
// (HF_HUB_DISABLE_IMPLICIT_TOKEN=1, ENABLE_AUTH=enabled) and which would otherwise be masked all
// over the logs.
func FromEnviron(environ []string, minLen int) *Masker {
	var secrets []string
	for _, kv := range environ {
		// Windows keeps per-drive directories as "=C:=C:\x"; the name never starts at an '='.
		eq := strings.IndexByte(kv[min(1, len(kv)):], '=')
		if eq < 0 {
			continue
		}
		eq += min(1, len(kv))
		name, value := kv[:eq], kv[eq+1:]
		if value == "" {
			continue
		}
		if IsSecretName(name) && !isSwitchWord(value) {
			secrets = append(secrets, value)
		}
		secrets = append(secrets, urlSecrets(value)...)
	}
	return New(secrets, minLen)
}

func isSwitchWord(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "false", "yes", "no", "on", "off", "enable", "enabled", "disable", "disabled",
		"none", "null", "auto", "default", "unset":
		return true
	}
	return false
}
