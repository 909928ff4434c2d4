// Command mltrack runs any command exactly as if it ran alone and records it as an MLflow run:
// parameters, exit status, duration, resource usage over time, captured output and produced files.
//
//	mltrack [flags] -- <command> [args...]
//
// See README.md and docs/ for usage. main is a thin adapter: everything testable lives in run.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args, stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr}, os.Environ()))
}
