package redact

import (
	"strings"
	"unicode"
)

// IsSecretName reports whether an environment variable (or flag, or NAME=VALUE argument) with this
// name holds a secret, so that its value must be masked wherever mltrack stores text.
//
// The name is split into words on '_', '-', '.', any other non-alphanumeric character, and camelCase
// boundaries ("openaiApiKey" → OPENAI API KEY, "APIKey" → API KEY); words are compared
// case-insensitively and whole, so TOKENIZERS, KEYBOARD and MONKEY are not TOKEN or KEY.
//
// A name is secret when one of its words is
//
//	TOKEN(S) SECRET(S) PASSWORD(S) PASSWD PASS PASSPHRASE APIKEY(S) KEY(S) PRIVATEKEY
//	CREDENTIAL(S) CREDS AUTH OAUTH AUTHORIZATION BEARER COOKIE(S) JWT DSN CONNSTR
//
// or ends with TOKEN, PASSWORD, PASSWD, SECRET or APIKEY (one-word compounds: PGPASSWORD,
// NGROK_AUTHTOKEN, CLIENTSECRET), or the name holds the words CONNECTION STRING
// (AZURE_STORAGE_CONNECTION_STRING), or the word PWD follows another word (MYSQL_PWD).
//
// Decisions, and why:
//   - KEY counts anywhere (AWS_SECRET_ACCESS_KEY, STRIPE_KEY, and AWS_ACCESS_KEY_ID: an access key id
//     is half of a credential pair and costs nothing to mask), except right after PUBLIC, PUB or
//     PUBLISHABLE (SSH_PUBLIC_KEY, STRIPE_PUBLISHABLE_KEY are meant to be shared).
//   - Names whose last word is SOCK, SOCKET, PATH, FILE, DIR, DIRECTORY or FOLDER are not secret:
//     their value says where something is (SSH_AUTH_SOCK, PGPASSFILE, POSTGRES_PASSWORD_FILE,
//     SSH_KEY_PATH), and masking a path would only hide useful locations in the logs. The secret is
//     in the file, which mltrack never reads.
//   - PWD and OLDPWD alone are the shell's working directories; PWD after another word is a password
//     (MYSQL_PWD).
//   - DSN and CONNECTION STRING count: connection strings hold passwords in forms that are not URLs
//     ("host=db password=x"), so the whole value is masked. Plain *_URL names (DATABASE_URL) are not
//     secret by name; the password in their userinfo is (see FromEnviron).
//   - AUTH counts (NPM_AUTH, BASIC_AUTH, MLFLOW_TRACKING_AUTH); a value that is an auth mode rather
//     than a credential is usually short or a plain word and is left alone by FromEnviron anyway.
//   - PASS counts as a whole word (DB_PASS, SMTP_PASS); ASKPASS (GIT_ASKPASS, a program) does not.
//   - SESSION alone does not (XDG_SESSION_ID, TERM_SESSION_ID); SESSION_KEY and SESSION_TOKEN do
//     through KEY and TOKEN.
//   - GOOGLE_APPLICATION_CREDENTIALS counts although its value is a path: the name says credentials,
//     and masking a path costs little.
//
// The table test in names_test.go is the full list of examples.
func IsSecretName(name string) bool {
	words := splitWords(name)
	if len(words) == 0 {
		return false
	}
	switch words[len(words)-1] {
	case "SOCK", "SOCKET", "PATH", "FILE", "DIR", "DIRECTORY", "FOLDER":
		return false
	}
	for i, w := range words {
		switch w {
		case "TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWORDS", "PASSWD", "PASS",
			"PASSPHRASE", "APIKEY", "APIKEYS", "PRIVATEKEY", "CREDENTIAL", "CREDENTIALS", "CREDS",
			"AUTH", "OAUTH", "AUTHORIZATION", "BEARER", "COOKIE", "COOKIES", "JWT", "DSN", "CONNSTR":
			return true
		case "KEY", "KEYS":
			if i > 0 {
				switch words[i-1] {
				case "PUBLIC", "PUB", "PUBLISHABLE":
					continue
				}
			}
			return true
		case "PWD":
			if len(words) > 1 {
				return true
			}
		case "CONNECTION":
			if i+1 < len(words) && words[i+1] == "STRING" {
				return true
			}
		}
		for _, suffix := range compoundSuffixes {
			if len(w) > len(suffix) && strings.HasSuffix(w, suffix) {
				return true
			}
		}
	}
	return false
}

// compoundSuffixes end one-word names that are secret (PGPASSWORD, AUTHTOKEN). Only words that no
// common English word ends with are here: KEY (MONKEY, HOTKEY) and PASS (BYPASS, ASKPASS) are not.
var compoundSuffixes = []string{"TOKEN", "PASSWORD", "PASSWD", "SECRET", "APIKEY"}

// splitWords splits a name into upper-case words; see IsSecretName.
func splitWords(name string) []string {
	var words []string
	runes := []rune(name)
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			words = append(words, strings.ToUpper(string(runes[start:end])))
		}
		start = -1
	}
	for i, r := range runes {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		prev := runes[i-1]
		switch {
		case unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)):
			// fooBar, s3Key
			flush(i)
			start = i
		case unicode.IsUpper(r) && unicode.IsUpper(prev) && i+1 < len(runes) && unicode.IsLower(runes[i+1]):
			// APIKey: the last upper-case letter before a lower-case one starts a word.
			flush(i)
			start = i
		}
	}
	flush(len(runes))
	return words
}

// isNameLike reports whether s looks like the name in a NAME=VALUE argument: an environment
// variable name, or a dotted config key as Hydra and OmegaConf overrides use them
// (wandb.api_key=…, optionally with Hydra's leading '+' or '++'): a letter or '_', then letters,
// digits, '_', '.' or '-'.
func isNameLike(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "+"), "+")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}
