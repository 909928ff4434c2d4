package redact

import (
	"slices"
	"testing"
)

func TestIsSecretName(t *testing.T) {
	tests := []struct {
		name   string
		secret bool
	}{
		// Plain secret words.
		{"GITHUB_TOKEN", true},
		{"HF_TOKEN", true},
		{"HUGGING_FACE_HUB_TOKEN", true},
		{"MLFLOW_TRACKING_TOKEN", true},
		{"MLFLOW_TRACKING_PASSWORD", true},
		{"JWT_SECRET", true},
		{"AZURE_CLIENT_SECRET", true},
		{"DB_PASS", true},
		{"SMTP_PASSWD", true},
		{"GPG_PASSPHRASE", true},
		{"AWS_SESSION_TOKEN", true},
		{"GOOGLE_APPLICATION_CREDENTIALS", true},
		{"DOCKER_CREDS", true},
		{"NPM_AUTH", true},
		{"npm_config__auth", true},
		{"HTTP_AUTHORIZATION", true},
		{"COOKIE", true},
		{"SESSION_COOKIES", true},
		{"CI_JOB_JWT", true},
		{"SENTRY_DSN", true},
		{"AZURE_STORAGE_CONNECTION_STRING", true},
		{"MYSQL_PWD", true},
		// KEY anywhere, as a whole word.
		{"AWS_SECRET_ACCESS_KEY", true},
		{"AWS_ACCESS_KEY_ID", true},
		{"OPENAI_API_KEY", true},
		{"WANDB_API_KEY", true},
		{"STRIPE_KEY", true},
		{"SESSION_KEY", true},
		{"PRIVATE_KEY", true},
		{"KEY", true},
		{"API_KEYS", true},
		{"APIKEY", true},
		// camelCase and other separators.
		{"apiKey", true},
		{"APIKey", true},
		{"openaiApiKey", true},
		{"githubToken", true},
		{"db.password", true},
		{"client-secret", true},
		// One-word compounds ending in a strong word.
		{"PGPASSWORD", true},
		{"NGROK_AUTHTOKEN", true},
		{"CLIENTSECRET", true},
		{"OPENAIAPIKEY", true},
		// Not secret: other words that merely contain a secret word.
		{"TOKENIZERS_PARALLELISM", false},
		{"KEYBOARD", false},
		{"KEYBOARD_LAYOUT", false},
		{"MONKEY", false},
		{"HOTKEY", false},
		{"LESSKEY", false},
		{"KEYRING_BACKEND", false},
		{"GIT_ASKPASS", false},
		{"BYPASS_CACHE", false},
		{"GIT_AUTHOR_NAME", false},
		{"COMPASS", false},
		// Not secret: working directories.
		{"PWD", false},
		{"OLDPWD", false},
		// Not secret: locations (last word SOCK, PATH, FILE, DIR…).
		{"SSH_AUTH_SOCK", false},
		{"PGPASSFILE", false},
		{"POSTGRES_PASSWORD_FILE", false},
		{"SSH_KEY_PATH", false},
		{"SECRETS_DIR", false},
		{"TOKEN_CACHE_DIRECTORY", false},
		// Not secret: public keys.
		{"SSH_PUBLIC_KEY", false},
		{"STRIPE_PUBLISHABLE_KEY", false},
		// Not secret: ordinary variables.
		{"PATH", false},
		{"LD_LIBRARY_PATH", false},
		{"HOME", false},
		{"TERM", false},
		{"DATABASE_URL", false},
		{"MLFLOW_TRACKING_URI", false},
		{"MLFLOW_TRACKING_USERNAME", false},
		{"CUDA_VISIBLE_DEVICES", false},
		{"XDG_SESSION_ID", false},
		{"AWS_REGION", false},
		{"", false},
		{"___", false},
	}
	for _, tc := range tests {
		if got := IsSecretName(tc.name); got != tc.secret {
			t.Errorf("IsSecretName(%q) = %v, want %v (words %q)", tc.name, got, tc.secret, splitWords(tc.name))
		}
	}
	if len(tests) < 30 {
		t.Fatalf("table too short")
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"AWS_SECRET_ACCESS_KEY", []string{"AWS", "SECRET", "ACCESS", "KEY"}},
		{"openaiApiKey", []string{"OPENAI", "API", "KEY"}},
		{"APIKey", []string{"API", "KEY"}},
		{"s3Key", []string{"S3", "KEY"}},
		{"db.pass-word", []string{"DB", "PASS", "WORD"}},
		{"__x__", []string{"X"}},
		{"", nil},
	}
	for _, tc := range tests {
		if got := splitWords(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("splitWords(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
