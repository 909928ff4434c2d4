package capture

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

const (
	sha1Hex   = "0123456789abcdef0123456789abcdef01234567"
	sha256Hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func TestDetectCIProviders(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		want    map[string]string
		summary string
	}{
		{
			name: "github push to a branch, second attempt",
			env: map[string]string{
				"GITHUB_ACTIONS": "true", "GITHUB_JOB": "train", "GITHUB_RUN_ID": "1658821493",
				"GITHUB_RUN_ATTEMPT": "2", "GITHUB_RUN_NUMBER": "17", "GITHUB_WORKFLOW": "CI",
				"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "octo/models",
				"GITHUB_SHA": sha1Hex, "GITHUB_REF": "refs/heads/main", "GITHUB_HEAD_REF": "",
				"GITHUB_EVENT_NAME": "push", "GITHUB_STEP_SUMMARY": "/home/runner/work/_temp/_runner_file_commands/step_summary_x",
			},
			want: map[string]string{
				CITagProvider: CIGitHubActions, CITagJobID: "train", CITagWorkflow: "CI",
				CITagPipelineID: "1658821493", CITagRunNumber: "17", CITagRunAttempt: "2",
				CITagPipelineURL: "https://github.com/octo/models/actions/runs/1658821493",
				CITagJobURL:      "https://github.com/octo/models/actions/runs/1658821493/attempts/2",
				CITagRepository:  "octo/models", mlflowGitRepoURL: "https://github.com/octo/models",
				CITagCommit: sha1Hex, mlflowGitCommit: sha1Hex, CITagRef: "refs/heads/main",
				CITagBranch: "main", mlflowGitBranch: "main", CITagEvent: "push",
			},
			summary: "/home/runner/work/_temp/_runner_file_commands/step_summary_x",
		},
		{
			name: "github pull request on GHES, no attempt",
			env: map[string]string{
				"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "5", "GITHUB_SERVER_URL": "https://ghe.example.com/",
				"GITHUB_REPOSITORY": "team/repo", "GITHUB_REF": "refs/pull/42/merge", "GITHUB_HEAD_REF": "feature/x",
				"GITHUB_SHA": sha256Hex,
			},
			want: map[string]string{
				CITagProvider: CIGitHubActions, CITagPipelineID: "5",
				CITagPipelineURL: "https://ghe.example.com/team/repo/actions/runs/5",
				CITagJobURL:      "https://ghe.example.com/team/repo/actions/runs/5",
				CITagRepository:  "team/repo", mlflowGitRepoURL: "https://ghe.example.com/team/repo",
				CITagCommit: sha256Hex, mlflowGitCommit: sha256Hex, CITagRef: "refs/pull/42/merge",
				CITagBranch: "feature/x", mlflowGitBranch: "feature/x", CITagPullRequest: "42",
			},
		},
		{
			name: "github tag push, no server url",
			env: map[string]string{
				"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "9", "GITHUB_REPOSITORY": "o/r", "GITHUB_REF": "refs/tags/v1.2",
			},
			want: map[string]string{
				CITagProvider: CIGitHubActions, CITagPipelineID: "9",
				CITagPipelineURL: "https://github.com/o/r/actions/runs/9", CITagJobURL: "https://github.com/o/r/actions/runs/9",
				CITagRepository: "o/r", mlflowGitRepoURL: "https://github.com/o/r", CITagRef: "refs/tags/v1.2", CITagGitTag: "v1.2",
			},
		},
		{
			name: "github with nothing but the marker",
			env:  map[string]string{"GITHUB_ACTIONS": "true"},
			want: map[string]string{CITagProvider: CIGitHubActions},
		},
		{
			name: "gitlab branch pipeline",
			env: map[string]string{
				"GITLAB_CI": "true", "CI": "true", "CI_JOB_ID": "8812", "CI_JOB_NAME": "train:gpu",
				"CI_JOB_URL": "https://gitlab.com/g/p/-/jobs/8812", "CI_PIPELINE_ID": "3301", "CI_PIPELINE_IID": "12",
				"CI_PIPELINE_URL": "https://gitlab.com/g/p/-/pipelines/3301", "CI_PIPELINE_SOURCE": "push",
				"CI_PROJECT_PATH": "g/p", "CI_PROJECT_URL": "https://gitlab.com/g/p", "CI_COMMIT_SHA": sha1Hex,
				"CI_COMMIT_BRANCH": "main", "CI_COMMIT_REF_NAME": "main",
			},
			want: map[string]string{
				CITagProvider: CIGitLab, CITagJobID: "8812", CITagJobName: "train:gpu",
				CITagJobURL: "https://gitlab.com/g/p/-/jobs/8812", CITagPipelineID: "3301", CITagRunNumber: "12",
				CITagPipelineURL: "https://gitlab.com/g/p/-/pipelines/3301", CITagRepository: "g/p",
				mlflowGitRepoURL: "https://gitlab.com/g/p", CITagCommit: sha1Hex, mlflowGitCommit: sha1Hex,
				CITagBranch: "main", mlflowGitBranch: "main", CITagRef: "main", CITagEvent: "push",
			},
		},
		{
			name: "gitlab merge request pipeline without CI_JOB_URL",
			env: map[string]string{
				"GITLAB_CI": "true", "CI_JOB_ID": "7", "CI_PROJECT_URL": "https://git.example.com/g/p/",
				"CI_COMMIT_REF_NAME": "feat", "CI_MERGE_REQUEST_IID": "3", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feat",
			},
			want: map[string]string{
				CITagProvider: CIGitLab, CITagJobID: "7", CITagJobURL: "https://git.example.com/g/p/-/jobs/7",
				mlflowGitRepoURL: "https://git.example.com/g/p", CITagRef: "feat", CITagBranch: "feat",
				mlflowGitBranch: "feat", CITagPullRequest: "3",
			},
		},
		{
			name: "gitlab tag pipeline",
			env: map[string]string{
				"GITLAB_CI": "true", "CI_COMMIT_TAG": "v2", "CI_COMMIT_REF_NAME": "v2",
			},
			want: map[string]string{CITagProvider: CIGitLab, CITagGitTag: "v2", CITagRef: "v2"},
		},
		{
			name: "buildkite",
			env: map[string]string{
				"BUILDKITE": "true", "CI": "true", "BUILDKITE_JOB_ID": "e44f9784-e20e-4b93-a21d-f41fd5869db9",
				"BUILDKITE_LABEL": ":hammer: Train", "BUILDKITE_BUILD_ID": "f62a1b4d-10f9-4790-bc1c-e2c3a0c80983",
				"BUILDKITE_BUILD_NUMBER": "1514", "BUILDKITE_BUILD_URL": "https://buildkite.com/acme/models/builds/1514",
				"BUILDKITE_ORGANIZATION_SLUG": "acme", "BUILDKITE_PIPELINE_SLUG": "models",
				"BUILDKITE_REPO": "git@github.com:acme/models.git", "BUILDKITE_COMMIT": sha1Hex,
				"BUILDKITE_BRANCH": "main", "BUILDKITE_TAG": "", "BUILDKITE_PULL_REQUEST": "false", "BUILDKITE_SOURCE": "webhook",
			},
			want: map[string]string{
				CITagProvider: CIBuildkite, CITagJobID: "e44f9784-e20e-4b93-a21d-f41fd5869db9", CITagJobName: ":hammer: Train",
				CITagJobURL:     "https://buildkite.com/acme/models/builds/1514#e44f9784-e20e-4b93-a21d-f41fd5869db9",
				CITagPipelineID: "f62a1b4d-10f9-4790-bc1c-e2c3a0c80983", CITagRunNumber: "1514",
				CITagPipelineURL: "https://buildkite.com/acme/models/builds/1514", CITagWorkflow: "acme/models",
				CITagRepository: "git@github.com:acme/models.git", mlflowGitRepoURL: "git@github.com:acme/models.git",
				CITagCommit: sha1Hex, mlflowGitCommit: sha1Hex, CITagBranch: "main", mlflowGitBranch: "main",
				CITagEvent: "webhook",
			},
		},
		{
			name: "buildkite pull request, symbolic commit",
			env: map[string]string{
				"BUILDKITE": "true", "BUILDKITE_COMMIT": "HEAD", "BUILDKITE_PULL_REQUEST": "77", "BUILDKITE_BRANCH": "fix",
			},
			want: map[string]string{
				CITagProvider: CIBuildkite, CITagPullRequest: "77", CITagBranch: "fix", mlflowGitBranch: "fix",
			},
		},
		{
			name: "circleci",
			env: map[string]string{
				"CIRCLECI": "true", "CI": "true", "CIRCLE_WORKFLOW_JOB_ID": "a1b2", "CIRCLE_BUILD_NUM": "404",
				"CIRCLE_JOB": "train", "CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/models/404",
				"CIRCLE_PIPELINE_ID": "p-uuid", "CIRCLE_WORKFLOW_ID": "w-uuid", "CIRCLE_SHA1": sha1Hex,
				"CIRCLE_BRANCH": "dev", "CIRCLE_PULL_REQUEST": "https://github.com/acme/models/pull/5",
				"CIRCLE_PROJECT_USERNAME": "acme", "CIRCLE_PROJECT_REPONAME": "models",
				"CIRCLE_REPOSITORY_URL": "git@github.com:acme/models.git",
			},
			want: map[string]string{
				CITagProvider: CICircleCI, CITagJobID: "a1b2", CITagJobName: "train",
				CITagJobURL: "https://circleci.com/gh/acme/models/404", CITagRunNumber: "404",
				CITagPipelineID: "p-uuid", CITagWorkflow: "w-uuid", CITagRepository: "acme/models",
				mlflowGitRepoURL: "git@github.com:acme/models.git", CITagCommit: sha1Hex, mlflowGitCommit: sha1Hex,
				CITagBranch: "dev", mlflowGitBranch: "dev", CITagPullRequest: "https://github.com/acme/models/pull/5",
			},
		},
		{
			name: "circleci older: no job or pipeline id",
			env: map[string]string{
				"CIRCLECI": "true", "CIRCLE_BUILD_NUM": "12", "CIRCLE_WORKFLOW_ID": "w", "CIRCLE_TAG": "v3",
			},
			want: map[string]string{
				CITagProvider: CICircleCI, CITagJobID: "12", CITagRunNumber: "12", CITagPipelineID: "w",
				CITagWorkflow: "w", CITagGitTag: "v3",
			},
		},
		{
			name: "jenkins freestyle with the git plugin",
			env: map[string]string{
				"JENKINS_URL": "https://ci.example.com/", "BUILD_TAG": "jenkins-models-train-88", "BUILD_NUMBER": "88",
				"BUILD_ID": "88", "BUILD_URL": "https://ci.example.com/job/models-train/88/", "JOB_NAME": "models-train",
				"GIT_COMMIT": sha1Hex, "GIT_BRANCH": "origin/release/1.x", "GIT_URL": "https://github.com/acme/models.git",
			},
			want: map[string]string{
				CITagProvider: CIJenkins, CITagJobName: "models-train", CITagJobID: "88", CITagRunNumber: "88",
				CITagPipelineID: "jenkins-models-train-88", CITagJobURL: "https://ci.example.com/job/models-train/88/",
				CITagRepository: "https://github.com/acme/models.git", mlflowGitRepoURL: "https://github.com/acme/models.git",
				CITagCommit: sha1Hex, mlflowGitCommit: sha1Hex, CITagBranch: "release/1.x", mlflowGitBranch: "release/1.x",
			},
		},
		{
			name: "jenkins multibranch pull request, no JENKINS_URL",
			env: map[string]string{
				"BUILD_TAG": "jenkins-models-PR-12-3", "BUILD_NUMBER": "3", "JOB_NAME": "models/PR-12",
				"BRANCH_NAME": "PR-12", "CHANGE_ID": "12", "CHANGE_BRANCH": "feature/y",
			},
			want: map[string]string{
				CITagProvider: CIJenkins, CITagJobName: "models/PR-12", CITagJobID: "3", CITagRunNumber: "3",
				CITagPipelineID: "jenkins-models-PR-12-3", CITagBranch: "feature/y", mlflowGitBranch: "feature/y",
				CITagPullRequest: "12",
			},
		},
		{
			name: "jenkins multibranch branch build",
			env: map[string]string{
				"JENKINS_URL": "http://j:8080/", "BUILD_NUMBER": "1", "BRANCH_NAME": "main", "GIT_BRANCH": "origin/ignored",
				"TAG_NAME": "",
			},
			want: map[string]string{
				CITagProvider: CIJenkins, CITagJobID: "1", CITagRunNumber: "1", CITagBranch: "main", mlflowGitBranch: "main",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := DetectCI(envOf(tc.env))
			if !ok {
				t.Fatal("not detected")
			}
			if c.Provider != tc.want[CITagProvider] {
				t.Errorf("provider %q", c.Provider)
			}
			if !maps.Equal(c.Tags, tc.want) {
				for _, k := range slices.Sorted(maps.Keys(mergeKeys(c.Tags, tc.want))) {
					if c.Tags[k] != tc.want[k] {
						t.Errorf("%s = %q, want %q", k, c.Tags[k], tc.want[k])
					}
				}
			}
			if c.StepSummaryPath != tc.summary {
				t.Errorf("StepSummaryPath %q, want %q", c.StepSummaryPath, tc.summary)
			}
		})
	}
}

func mergeKeys(a, b map[string]string) map[string]bool {
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

func TestDetectCINone(t *testing.T) {
	for _, env := range []map[string]string{
		nil,
		{"CI": "true"},                         // an unknown CI
		{"GITHUB_ACTIONS": "false"},            // set but not true
		{"GITLAB_CI": ""},                      // empty
		{"BUILD_NUMBER": "3", "JOB_NAME": "x"}, // Jenkins-like names, but no Jenkins marker
		{"BUILD_TAG": "release-3"},             // not Jenkins' jenkins-* tag
		{"GITHUB_TOKEN": "ghp_x", "CI_JOB_TOKEN": "y"},
	} {
		if c, ok := DetectCI(envOf(env)); ok {
			t.Errorf("%v detected as %+v", env, c)
		}
	}
	if _, ok := DetectCI(nil); ok {
		t.Error("nil getenv detected a CI")
	}
}

// plantedSecrets are variables a CI job typically holds: none may reach a tag.
var plantedSecrets = map[string]string{
	"GITHUB_TOKEN":                    "ghp_SECRETSECRETSECRET",
	"ACTIONS_RUNTIME_TOKEN":           "SECRET-runtime",
	"ACTIONS_ID_TOKEN_REQUEST_TOKEN":  "SECRET-oidc",
	"CI_JOB_TOKEN":                    "SECRET-job-token",
	"CI_JOB_JWT":                      "SECRET.jwt.value",
	"CI_REGISTRY_PASSWORD":            "SECRET-registry",
	"CI_REPOSITORY_URL":               "https://gitlab-ci-token:SECRET-in-url@gitlab.com/g/p.git",
	"CI_DEPLOY_PASSWORD":              "SECRET-deploy",
	"BUILDKITE_AGENT_ACCESS_TOKEN":    "SECRET-agent",
	"CIRCLE_OIDC_TOKEN":               "SECRET-circle-oidc",
	"CIRCLE_OIDC_TOKEN_V2":            "SECRET-circle-oidc2",
	"AWS_SECRET_ACCESS_KEY":           "SECRET-aws",
	"MY_DEPLOY_CREDENTIAL":            "SECRET-jenkins-binding",
	"BUILDKITE_REPO":                  "https://user:SECRET-bk@github.com/acme/models.git",
	"GIT_URL":                         "https://x-access-token:SECRET-git@github.com/acme/models.git",
	"CIRCLE_REPOSITORY_URL":           "https://bot:SECRET-circle@github.com/acme/models.git",
	"MLFLOW_TRACKING_PASSWORD":        "SECRET-mlflow",
	"GITHUB_SERVER_URL":               "https://github.com",
	"CI_PROJECT_URL":                  "https://gitlab.com/g/p",
	"ACTIONS_CACHE_URL":               "https://SECRET-cache/",
	"BUILDKITE_S3_SECRET_ACCESS_KEY":  "SECRET-s3",
	"CI_DEPENDENCY_PROXY_PASSWORD":    "SECRET-proxy",
	"GITLAB_FEATURES":                 "not a secret, not read",
	"BUILDKITE_AGENT_META_DATA_TOKEN": "SECRET-meta",
}

func TestDetectCINeverRecordsSecrets(t *testing.T) {
	for _, marker := range []map[string]string{
		{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/models", "GITHUB_RUN_ID": "1"},
		{"GITLAB_CI": "true", "CI_JOB_ID": "1"},
		{"BUILDKITE": "true", "BUILDKITE_JOB_ID": "1"},
		{"CIRCLECI": "true", "CIRCLE_BUILD_NUM": "1"},
		{"JENKINS_URL": "https://j/", "BUILD_NUMBER": "1"},
	} {
		env := maps.Clone(plantedSecrets)
		maps.Copy(env, marker)
		c, ok := DetectCI(envOf(env))
		if !ok {
			t.Fatalf("%v not detected", marker)
		}
		for k, v := range c.Tags {
			if strings.Contains(v, "SECRET") {
				t.Errorf("%s: tag %s = %q carries a secret", c.Provider, k, v)
			}
		}
		if strings.Contains(c.StepSummaryPath, "SECRET") {
			t.Errorf("%s: step summary path carries a secret", c.Provider)
		}
		// Credentials are stripped from repository URLs, the rest kept.
		if c.Provider == CIBuildkite && c.Tags[CITagRepository] != "https://github.com/acme/models.git" {
			t.Errorf("buildkite repository %q", c.Tags[CITagRepository])
		}
		if c.Provider == CIJenkins && c.Tags[mlflowGitRepoURL] != "https://github.com/acme/models.git" {
			t.Errorf("jenkins repo URL %q", c.Tags[mlflowGitRepoURL])
		}
	}
}

// TestCIAllowList checks the allow-list itself: it names no secret, and it is exactly the set of
// variables ci.go reads (so a variable read without being listed would show here, not in a tag).
func TestCIAllowList(t *testing.T) {
	secretish := regexp.MustCompile(`TOKEN|SECRET|PASSW|KEY|JWT|CREDENTIAL|AUTH|CI_REPOSITORY_URL|_CERT|PRIVATE`)
	for name := range ciVariables {
		if secretish.MatchString(name) {
			t.Errorf("allow-list holds %s, which looks like a secret", name)
		}
	}
	src, err := os.ReadFile("ci.go")
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	for _, m := range regexp.MustCompile(`env\("([A-Z0-9_]+)"\)`).FindAllStringSubmatch(string(src), -1) {
		read[m[1]] = true
	}
	for name := range read {
		if !ciVariables[name] {
			t.Errorf("ci.go reads %s, which is not in the allow-list", name)
		}
	}
	for name := range ciVariables {
		if !read[name] {
			t.Errorf("the allow-list holds %s, which ci.go never reads", name)
		}
	}
}

func TestCIAppendStepSummary(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "summary.md")
	if err := AppendStepSummary(p, "first"); err != nil {
		t.Fatal(err)
	}
	if err := AppendStepSummary(p, "**FAILED** [run](http://x)\nsecond line\r\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != "first\n**FAILED** [run](http://x) second line\n" {
		t.Fatalf("summary %q", got)
	}

	// An existing file without a final newline keeps its content, and the line stands alone.
	q := filepath.Join(dir, "other.md")
	if err := os.WriteFile(q, []byte("# Results\n| a | b |"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := AppendStepSummary(q, "done"); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(q)
	if string(got) != "# Results\n| a | b |\ndone\n" {
		t.Fatalf("summary %q", got)
	}

	if err := AppendStepSummary("", "x"); err == nil || !strings.Contains(err.Error(), "GITHUB_STEP_SUMMARY") {
		t.Errorf("empty path: %v", err)
	}
	if err := AppendStepSummary(filepath.Join(dir, "missing", "s.md"), "x"); err == nil {
		t.Error("a file in a missing directory was written")
	}
}
