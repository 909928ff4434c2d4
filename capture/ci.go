package capture

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// CI providers as recorded in the mltrack.ci.provider tag.
const (
	CIGitHubActions = "github-actions"
	CIGitLab        = "gitlab-ci"
	CIBuildkite     = "buildkite"
	CICircleCI      = "circleci"
	CIJenkins       = "jenkins"
)

// Tags DetectCI may set. Only those the provider gives a value for are present.
const (
	CITagProvider     = "mltrack.ci.provider"
	CITagJobID        = "mltrack.ci.job_id"
	CITagJobName      = "mltrack.ci.job_name"
	CITagJobURL       = "mltrack.ci.job_url"
	CITagPipelineID   = "mltrack.ci.pipeline_id" // the run of the whole pipeline/workflow/build
	CITagPipelineURL  = "mltrack.ci.pipeline_url"
	CITagRunNumber    = "mltrack.ci.run_number" // the human-facing build number, where distinct
	CITagRunAttempt   = "mltrack.ci.run_attempt"
	CITagWorkflow     = "mltrack.ci.workflow"
	CITagCommit       = "mltrack.ci.commit"
	CITagBranch       = "mltrack.ci.branch"
	CITagRef          = "mltrack.ci.ref"
	CITagGitTag       = "mltrack.ci.git_tag"
	CITagPullRequest  = "mltrack.ci.pull_request"
	CITagRepository   = "mltrack.ci.repository"
	CITagEvent        = "mltrack.ci.event"
	mlflowGitCommit   = "mlflow.source.git.commit"
	mlflowGitBranch   = "mlflow.source.git.branch"
	mlflowGitRepoURL  = "mlflow.source.git.repoURL"
	githubDefaultHost = "https://github.com"
)

// CIContext is where the run runs when it runs in CI.
type CIContext struct {
	Provider string            // one of the CI* provider constants
	Tags     map[string]string // mltrack.ci.* tags, and mlflow.source.git.* where the provider knows them
	// StepSummaryPath is GitHub Actions' $GITHUB_STEP_SUMMARY (a Markdown file shown on the
	// run's page), for AppendStepSummary; empty elsewhere.
	StepSummaryPath string
}

// ciVariables is every variable DetectCI reads. It is an allow-list: DetectCI reads the
// environment only through it, so a token (GITHUB_TOKEN, CI_JOB_TOKEN, BUILDKITE_AGENT_ACCESS_TOKEN,
// CIRCLE_OIDC_TOKEN, a Jenkins credential binding, GitLab's CI_REPOSITORY_URL which embeds the job
// token) can never reach a tag. Repository URLs that may carry credentials (Buildkite's
// BUILDKITE_REPO, CircleCI's CIRCLE_REPOSITORY_URL, Jenkins' GIT_URL) are stripped of them.
var ciVariables = map[string]bool{
	// GitHub Actions: docs.github.com/actions/reference/variables-reference
	"GITHUB_ACTIONS": true, "GITHUB_JOB": true, "GITHUB_RUN_ID": true, "GITHUB_RUN_ATTEMPT": true,
	"GITHUB_RUN_NUMBER": true, "GITHUB_WORKFLOW": true, "GITHUB_SERVER_URL": true, "GITHUB_REPOSITORY": true,
	"GITHUB_SHA": true, "GITHUB_REF": true, "GITHUB_HEAD_REF": true, "GITHUB_EVENT_NAME": true,
	"GITHUB_STEP_SUMMARY": true,
	// GitLab CI/CD: docs.gitlab.com/ci/variables/predefined_variables
	"GITLAB_CI": true, "CI_JOB_ID": true, "CI_JOB_NAME": true, "CI_JOB_URL": true, "CI_PIPELINE_ID": true,
	"CI_PIPELINE_IID": true, "CI_PIPELINE_URL": true, "CI_PIPELINE_SOURCE": true, "CI_PROJECT_PATH": true,
	"CI_PROJECT_URL": true, "CI_COMMIT_SHA": true, "CI_COMMIT_BRANCH": true, "CI_COMMIT_REF_NAME": true,
	"CI_COMMIT_TAG": true, "CI_MERGE_REQUEST_IID": true, "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": true,
	// Buildkite: buildkite.com/docs/pipelines/environment-variables
	"BUILDKITE": true, "BUILDKITE_JOB_ID": true, "BUILDKITE_LABEL": true, "BUILDKITE_BUILD_ID": true,
	"BUILDKITE_BUILD_NUMBER": true, "BUILDKITE_BUILD_URL": true, "BUILDKITE_COMMIT": true,
	"BUILDKITE_BRANCH": true, "BUILDKITE_TAG": true, "BUILDKITE_PULL_REQUEST": true, "BUILDKITE_REPO": true,
	"BUILDKITE_ORGANIZATION_SLUG": true, "BUILDKITE_PIPELINE_SLUG": true, "BUILDKITE_SOURCE": true,
	// CircleCI: circleci.com/docs/reference/variables
	"CIRCLECI": true, "CIRCLE_WORKFLOW_JOB_ID": true, "CIRCLE_BUILD_NUM": true, "CIRCLE_JOB": true,
	"CIRCLE_BUILD_URL": true, "CIRCLE_PIPELINE_ID": true, "CIRCLE_WORKFLOW_ID": true, "CIRCLE_SHA1": true,
	"CIRCLE_BRANCH": true, "CIRCLE_TAG": true, "CIRCLE_PULL_REQUEST": true, "CIRCLE_PROJECT_USERNAME": true,
	"CIRCLE_PROJECT_REPONAME": true, "CIRCLE_REPOSITORY_URL": true,
	// Jenkins core (jenkins.io/doc/book/pipeline/jenkinsfile/#using-environment-variables), the Git
	// plugin (GIT_*) and multibranch pipelines (BRANCH_NAME, CHANGE_*, TAG_NAME).
	"JENKINS_URL": true, "BUILD_TAG": true, "BUILD_NUMBER": true, "BUILD_ID": true, "BUILD_URL": true,
	"JOB_NAME": true, "GIT_COMMIT": true, "GIT_BRANCH": true, "GIT_LOCAL_BRANCH": true, "GIT_URL": true,
	"BRANCH_NAME": true, "CHANGE_ID": true, "CHANGE_BRANCH": true, "TAG_NAME": true,
}

// DetectCI recognises GitHub Actions, GitLab CI, Buildkite, CircleCI and Jenkins from their own
// variables and describes the job as tags. It reads nothing but the allow-listed variables (see
// ciVariables) through getenv. false: not in one of these CIs.
//
// The mlflow.source.git.* tags it sets come from the CI's description of the checkout; git's
// own answer (GatherContext) is more direct and should win when both exist. CI checkouts are
// often on a detached HEAD, so the branch usually comes from here.
func DetectCI(getenv func(string) string) (CIContext, bool) {
	if getenv == nil {
		return CIContext{}, false
	}
	env := func(name string) string {
		if !ciVariables[name] {
			return "" // never reached: the tests check that every name read is listed
		}
		return strings.TrimSpace(getenv(name))
	}
	var c CIContext
	switch {
	case env("GITHUB_ACTIONS") == "true":
		c = githubActions(env)
	case env("GITLAB_CI") == "true":
		c = gitlabCI(env)
	case env("BUILDKITE") == "true":
		c = buildkite(env)
	case env("CIRCLECI") == "true":
		c = circleCI(env)
	case env("JENKINS_URL") != "" || strings.HasPrefix(env("BUILD_TAG"), "jenkins-"):
		c = jenkins(env)
	default:
		return CIContext{}, false
	}
	c.Tags[CITagProvider] = c.Provider
	return c, true
}

// ciTags collects non-empty values.
type ciTags map[string]string

func (t ciTags) set(key, value string) {
	if value != "" {
		t[key] = value
	}
}

// setCommit records a commit that is a full hexadecimal object name (Buildkite may say "HEAD").
func (t ciTags) setCommit(sha string) {
	if !isObjectName(sha) {
		return
	}
	t[CITagCommit] = sha
	t[mlflowGitCommit] = sha
}

func (t ciTags) setBranch(branch string) {
	t.set(CITagBranch, branch)
	t.set(mlflowGitBranch, branch)
}

func (t ciTags) setRepoURL(u string) {
	t.set(mlflowGitRepoURL, stripURLCredentials(u))
}

func isObjectName(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func githubActions(env func(string) string) CIContext {
	t := ciTags{}
	server := strings.TrimRight(firstOf(env("GITHUB_SERVER_URL"), githubDefaultHost), "/")
	repo, runID, attempt := env("GITHUB_REPOSITORY"), env("GITHUB_RUN_ID"), env("GITHUB_RUN_ATTEMPT")
	t.set(CITagJobID, env("GITHUB_JOB")) // the job's key in the workflow file
	t.set(CITagWorkflow, env("GITHUB_WORKFLOW"))
	t.set(CITagPipelineID, runID)
	t.set(CITagRunNumber, env("GITHUB_RUN_NUMBER"))
	t.set(CITagRunAttempt, attempt)
	if repo != "" && runID != "" {
		// The run's page (GitHub has no variable for the numeric id of the job's own page).
		runURL := server + "/" + repo + "/actions/runs/" + runID
		t.set(CITagPipelineURL, runURL)
		if attempt != "" {
			runURL += "/attempts/" + attempt
		}
		t.set(CITagJobURL, runURL)
	}
	t.set(CITagRepository, repo)
	if repo != "" {
		t.setRepoURL(server + "/" + repo)
	}
	t.setCommit(env("GITHUB_SHA"))
	ref := env("GITHUB_REF")
	t.set(CITagRef, ref)
	switch {
	case env("GITHUB_HEAD_REF") != "": // pull_request events: the branch being merged
		t.setBranch(env("GITHUB_HEAD_REF"))
	case strings.HasPrefix(ref, "refs/heads/"):
		t.setBranch(strings.TrimPrefix(ref, "refs/heads/"))
	case strings.HasPrefix(ref, "refs/tags/"):
		t.set(CITagGitTag, strings.TrimPrefix(ref, "refs/tags/"))
	}
	if pr, ok := strings.CutPrefix(ref, "refs/pull/"); ok {
		if n, _, ok := strings.Cut(pr, "/"); ok {
			t.set(CITagPullRequest, n)
		}
	}
	t.set(CITagEvent, env("GITHUB_EVENT_NAME"))
	return CIContext{Provider: CIGitHubActions, Tags: t, StepSummaryPath: env("GITHUB_STEP_SUMMARY")}
}

func gitlabCI(env func(string) string) CIContext {
	t := ciTags{}
	jobID, projectURL := env("CI_JOB_ID"), strings.TrimRight(env("CI_PROJECT_URL"), "/")
	t.set(CITagJobID, jobID)
	t.set(CITagJobName, env("CI_JOB_NAME"))
	jobURL := env("CI_JOB_URL")
	if jobURL == "" && projectURL != "" && jobID != "" {
		jobURL = projectURL + "/-/jobs/" + jobID
	}
	t.set(CITagJobURL, jobURL)
	t.set(CITagPipelineID, env("CI_PIPELINE_ID"))
	t.set(CITagRunNumber, env("CI_PIPELINE_IID"))
	t.set(CITagPipelineURL, env("CI_PIPELINE_URL"))
	t.set(CITagRepository, env("CI_PROJECT_PATH"))
	t.setRepoURL(projectURL)
	t.setCommit(env("CI_COMMIT_SHA"))
	// CI_COMMIT_BRANCH is absent in merge request and tag pipelines.
	t.setBranch(firstOf(env("CI_COMMIT_BRANCH"), env("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME")))
	t.set(CITagRef, env("CI_COMMIT_REF_NAME"))
	t.set(CITagGitTag, env("CI_COMMIT_TAG"))
	t.set(CITagPullRequest, env("CI_MERGE_REQUEST_IID"))
	t.set(CITagEvent, env("CI_PIPELINE_SOURCE"))
	return CIContext{Provider: CIGitLab, Tags: t}
}

func buildkite(env func(string) string) CIContext {
	t := ciTags{}
	jobID, buildURL := env("BUILDKITE_JOB_ID"), env("BUILDKITE_BUILD_URL")
	t.set(CITagJobID, jobID)
	t.set(CITagJobName, env("BUILDKITE_LABEL"))
	if buildURL != "" && jobID != "" {
		t.set(CITagJobURL, buildURL+"#"+jobID) // the build page, scrolled to the job
	}
	t.set(CITagPipelineID, env("BUILDKITE_BUILD_ID"))
	t.set(CITagRunNumber, env("BUILDKITE_BUILD_NUMBER"))
	t.set(CITagPipelineURL, buildURL)
	if org, pipeline := env("BUILDKITE_ORGANIZATION_SLUG"), env("BUILDKITE_PIPELINE_SLUG"); org != "" && pipeline != "" {
		t.set(CITagWorkflow, org+"/"+pipeline)
	}
	repo := stripURLCredentials(env("BUILDKITE_REPO"))
	t.set(CITagRepository, repo)
	t.setRepoURL(repo)
	t.setCommit(env("BUILDKITE_COMMIT"))
	t.setBranch(env("BUILDKITE_BRANCH"))
	t.set(CITagGitTag, env("BUILDKITE_TAG"))
	if pr := env("BUILDKITE_PULL_REQUEST"); pr != "false" {
		t.set(CITagPullRequest, pr)
	}
	t.set(CITagEvent, env("BUILDKITE_SOURCE"))
	return CIContext{Provider: CIBuildkite, Tags: t}
}

func circleCI(env func(string) string) CIContext {
	t := ciTags{}
	t.set(CITagJobID, firstOf(env("CIRCLE_WORKFLOW_JOB_ID"), env("CIRCLE_BUILD_NUM")))
	t.set(CITagJobName, env("CIRCLE_JOB"))
	t.set(CITagJobURL, env("CIRCLE_BUILD_URL"))
	t.set(CITagRunNumber, env("CIRCLE_BUILD_NUM"))
	t.set(CITagPipelineID, firstOf(env("CIRCLE_PIPELINE_ID"), env("CIRCLE_WORKFLOW_ID")))
	t.set(CITagWorkflow, env("CIRCLE_WORKFLOW_ID"))
	if user, name := env("CIRCLE_PROJECT_USERNAME"), env("CIRCLE_PROJECT_REPONAME"); user != "" && name != "" {
		t.set(CITagRepository, user+"/"+name)
	}
	t.setRepoURL(env("CIRCLE_REPOSITORY_URL"))
	t.setCommit(env("CIRCLE_SHA1"))
	t.setBranch(env("CIRCLE_BRANCH"))
	t.set(CITagGitTag, env("CIRCLE_TAG"))
	t.set(CITagPullRequest, env("CIRCLE_PULL_REQUEST"))
	return CIContext{Provider: CICircleCI, Tags: t}
}

func jenkins(env func(string) string) CIContext {
	t := ciTags{}
	// A Jenkins job is the pipeline definition; a build is one run of it.
	t.set(CITagJobName, env("JOB_NAME"))
	t.set(CITagJobID, firstOf(env("BUILD_NUMBER"), env("BUILD_ID")))
	t.set(CITagRunNumber, env("BUILD_NUMBER"))
	t.set(CITagPipelineID, env("BUILD_TAG")) // jenkins-JOB_NAME-BUILD_NUMBER: unique per build
	t.set(CITagJobURL, env("BUILD_URL"))     // empty when Jenkins' own URL is not configured
	repo := stripURLCredentials(env("GIT_URL"))
	t.set(CITagRepository, repo)
	t.setRepoURL(repo)
	t.setCommit(env("GIT_COMMIT"))
	branch := env("CHANGE_BRANCH") // a pull request's source branch
	if branch == "" && env("CHANGE_ID") == "" {
		branch = env("BRANCH_NAME") // multibranch; "PR-12" for pull requests, hence the check
	}
	if branch == "" {
		branch = env("GIT_LOCAL_BRANCH")
	}
	if branch == "" {
		// The Git plugin names the remote-tracking branch: "origin/main".
		branch = strings.TrimPrefix(strings.TrimPrefix(env("GIT_BRANCH"), "refs/heads/"), "origin/")
	}
	t.setBranch(branch)
	t.set(CITagGitTag, env("TAG_NAME"))
	t.set(CITagPullRequest, env("CHANGE_ID"))
	return CIContext{Provider: CIJenkins, Tags: t}
}

// AppendStepSummary appends one Markdown line to a GitHub Actions step summary file
// ($GITHUB_STEP_SUMMARY), creating it if missing and never truncating it. Line breaks inside line
// become spaces (trailing ones are dropped); if the file does not end with a newline, one is added first so the line stands
// alone.
func AppendStepSummary(path string, line string) error {
	if path == "" {
		return errors.New("step summary: no file (GITHUB_STEP_SUMMARY is empty)")
	}
	line = strings.TrimRight(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(line), " \t")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("step summary: %w", err)
	}
	prefix := ""
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		var last [1]byte
		if _, err := f.ReadAt(last[:], fi.Size()-1); err == nil && last[0] != '\n' {
			prefix = "\n"
		}
	}
	if _, err := f.WriteString(prefix + line + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("step summary %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("step summary %s: %w", path, err)
	}
	return nil
}
