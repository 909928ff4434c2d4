package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise it comes from the
// module build information.
var version = ""

func mltrackVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Exit codes of mltrack itself. Everything else is the command's own status (see docs/exit-codes.md).
const (
	exitUsage         = 125 // mltrack was invoked wrongly; nothing was started
	exitNotExecutable = 126
	exitNotFound      = 127
)

// stdio are mltrack's own standard files.
type stdio struct {
	in, out, err *os.File
}

// subcommands are the only words mltrack itself takes as a first argument. Only the first argument
// can name one: after `--`, and from the command's name on, everything belongs to the command, so
// `mltrack -- sync` runs the program sync.
var subcommands = map[string]func(ctx context.Context, args []string, io stdio, env environment) int{
	"help":        helpCommand,
	"version":     versionCommand,
	"sync":        syncCommand,
	"log":         logCommand,
	"runs":        runsCommand,
	"experiments": experimentsCommand,
	"stats":       statsCommand,
}

// run is mltrack's whole life, testable: it returns the exit code instead of exiting. It may also
// end the process with the child's signal (see exitLikeChild).
func run(args []string, io stdio, environ []string) int {
	ctx := context.Background()
	env := newEnvironment(environ)
	if len(args) > 1 {
		if sub, ok := subcommands[args[1]]; ok {
			return sub(ctx, args[1:], io, env)
		}
	}
	return runCommand(ctx, args, io, env)
}

func versionCommand(_ context.Context, _ []string, io stdio, _ environment) int {
	fmt.Fprintf(io.out, "mltrack %s\n", mltrackVersion())
	return 0
}

func helpCommand(ctx context.Context, args []string, io stdio, env environment) int {
	cmd := newRunCLI(io, env, &runConfig{})
	cmd.Writer = io.out
	_ = cmd.Run(ctx, []string{"mltrack", "--help"})
	return 0
}

// environment is mltrack's environment as given to run: the only place the process environment is read.
type environment struct {
	list []string
	m    map[string]string
}

func newEnvironment(environ []string) environment {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return environment{list: environ, m: m}
}

func (e environment) get(k string) string { return e.m[k] }
