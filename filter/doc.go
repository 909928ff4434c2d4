// Package filter implements MLflow 3.18's run-search filter language and order_by clauses, with
// MLflow's exact acceptance and meaning, for searching mltrack's runs offline:
//
//	f, err := filter.Parse(`metrics.duration_seconds > 60 AND params.model = 'resnet'`)
//	ob, err := filter.ParseOrderBy([]string{"metrics.loss DESC"})
//	var hits []mlflowclient.Run
//	for _, r := range runs {
//		if f.Match(r) {
//			hits = append(hits, r)
//		}
//	}
//	filter.Sort(hits, ob)
//
// # Why the parser looks like a SQL tokenizer
//
// MLflow does not have a grammar for filters. It runs the string through sqlparse (a generic SQL
// tokenizer and grouper) and accepts the result when the top-level tokens are comparisons and the
// keyword AND. What MLflow accepts is therefore whatever sqlparse happens to group, including many
// surprises. This package reproduces sqlparse 0.6.1's lexer and grouping passes (lexer.go, group.go,
// sqlkeywords.go) and then MLflow's checks (parse.go), so that it accepts exactly what MLflow
// accepts. The differential tests (mlflow_*_test.go) run MLflow itself on hundreds of fixed and
// thousands of random filters and require identical verdicts and clauses.
//
// # MLflow's behaviour, including the surprising parts (all followed here)
//
//   - Clauses: `key op value`, `key IN (...)`, `key NOT IN (...)`, `key IS NULL`, `key IS NOT
//     NULL`. AND, IN, NOT, IS, NULL, LIKE and ILIKE are case-insensitive.
//   - AND is not required: MLflow only refuses tokens that are neither clauses nor AND, so
//     `metrics.a > 1 params.b = 'x'`, `AND metrics.a > 1`, `... AND AND ...` and a lone `AND` are
//     all accepted. OR, NOT (outside NOT IN / IS NOT NULL), parentheses around clauses, commas,
//     semicolons, comments and trailing words are refused.
//   - The empty string matches every run, but a filter of only whitespace is refused (sqlparse
//     finds no statement in it).
//   - Keys: `entity.key`, split at the first dot (`tags.a.b.c` is the tag "a.b.c"). Entities,
//     case-sensitive: metric(s); param(s), parameter(s); tag(s); attribute(s), attr, run;
//     dataset(s). Without an entity the key is an attribute. The entity may be in backticks; the key
//     may be quoted with backticks, double or single quotes (one pair is removed). Keys with spaces,
//     dashes or slashes need quotes, except where sqlparse's aliasing joins words: MLflow reads
//     `params.a b IS NULL` as the param "a b".
//   - Attributes: run_id, run_name, status, user_id, artifact_uri (strings); start_time, end_time
//     (numbers). Aliases: created/Created mean start_time; "run name"/"Run name"/"Run Name" (quoted)
//     mean run_name. MLflow resolves aliases for every kind, so `params.created` is the param
//     "start_time". lifecycle_stage, experiment_id and duration are not searchable.
//   - Comparators: metrics and start_time/end_time take = != < <= > >=; params and tags = != LIKE
//     ILIKE IS NULL IS NOT NULL; string attributes and datasets = != LIKE ILIKE IN NOT IN. IN lists
//     are allowed for run_id and the dataset fields only (`status IN (...)` is refused).
//     IS [NOT] NULL works for params and tags only (since MLflow 3.11).
//   - Values: metrics and start_time/end_time need an unquoted number (`metrics.x = '1'` is
//     refused; Python's float() reads it, so any Unicode decimal digits work and 1e400 is +Inf);
//     start_time/end_time integers must fit in 64 bits (the SQL store cannot bind larger ones).
//     Everything else needs a single- or double-quoted string, taken verbatim with the outer quotes
//     removed: there are no escapes (a doubled quote stays two quote characters).
//   - IN lists are evaluated by Python's ast.literal_eval, so they follow Python's string rules:
//     `('a', "b",)`, `('a' 'b')` (one value "ab"), `('a\n')` (a newline), r-strings, comments and
//     line breaks are fine; numbers, nested lists and empty lists are refused. \N{name} escapes are
//     the one Python feature not implemented (refused with a clear error).
//   - Limits: sqlparse gives up beyond 10000 tokens in one list or 100 levels of nesting.
//
// # Meaning (Match and Sort)
//
// Match and Sort follow MLflow's SQL store on SQLite, the store MLflow creates by default: see
// match.go and sort.go for the exact rules (latest metric values; NaN satisfies only !=; ±Inf are
// stored as ±MaxFloat64; a missing key fails every comparison but IS NULL; LIKE is case-sensitive
// and ILIKE folds ASCII letters only; run_name filters compare the mlflow.runName tag; datasets
// never match because mltrack runs have none; missing values sort last, NaN metrics after real
// values; ties are broken by start_time descending, then run_id).
//
// # Dialects: MLflow's SQL store and its file store
//
// MLflow's file store (./mlruns) parses the same language but evaluates searches in Python, which
// answers differently at the edges: real infinities, LIKE that stops at newlines, ILIKE with
// Python's Unicode case folding, run_name compared with the run's name, duplicate order_by keys
// accepted, and errors (unsuitable comparators, dataset order_by keys) raised only when a run is
// evaluated. ParseFor(FileStore, s) and ParseOrderByFor(FileStore, obs) select those semantics, and
// Search applies a filter and an order_by list with them, errors included (see dialect.go and
// pylike.go). Parse, ParseOrderBy, Match and Sort keep the SQL store's.
package filter
