// Package capture observes a command while it runs and turns what it saw into plain data and files
// for the run. It never starts or signals the command's processes, reads flags, or talks to a
// tracking store; the only process it starts is a bounded `git` for the run's context, and the
// environment it sees is passed in (a getenv function) by package main.
//
//   - Output (output.go) receives a copy of the command's stdout and stderr from the runner, after
//     the bytes reached the terminal, and writes the logs that become artifacts: logs/stdout.log and
//     logs/stderr.log (or logs/output.log when both shared one pty) with the bytes as written, and
//     logs/*.txt copies made readable by Readable (readable.go), which removes terminal control
//     sequences and collapses "\r" redraws such as progress bars. Secrets are masked (package
//     redact) before anything reaches the disk, and a cap keeps the head and tail of huge outputs;
//     memory does not grow with the output.
//   - Sampler (sampler.go) samples the resource use of the command's process tree.
//   - OutputDirs (outdirs.go) finds the files the command produced in declared output directories.
//   - GatherContext (context.go) collects where and from what the command ran (git, host).
//   - MetricsFile (metricsfile.go) reads the MLTRACK_METRICS side channel: lines the command
//     appends (`NAME VALUE [STEP]`) become metric samples.
//   - DetectCI (ci.go) tells which CI provider runs the command, from an allow-list of its variables.
package capture
