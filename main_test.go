package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/mltrack/mltrack/internal/mlflowtest"
)

// TestMain lets testscript run mltrack (and a small test child) in-process: the scripts under
// testdata/script exercise the real command line end to end, without a separate build.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"mltrack":   main,
		"testchild": testChild,
	})
}

// TestScripts runs testdata/script/*.txtar. Scripts that need the real MLflow use the `mlflowpy`
// command, which finds the pinned MLflow (and fails under CI=true when it is missing).
func TestScripts(t *testing.T) {
	procedures, err := filepath.Abs("testdata/procedures")
	if err != nil {
		t.Fatal(err)
	}
	examples, err := filepath.Abs("testdata/examples")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("MLTRACK_SPOOL_DIR", filepath.Join(env.WorkDir, ".spool"))
			env.Setenv("LOGNAME", "tester")
			env.Setenv("USER", "tester")
			env.Setenv("PROCEDURES", procedures)
			env.Setenv("EXAMPLES", examples)
			if py := os.Getenv("MLTRACK_TEST_PYTHON"); py != "" {
				env.Setenv("MLTRACK_TEST_PYTHON", py)
			} else if _, err := os.Stat(filepath.Join(mlflowtest.DefaultVenv, "bin", "python")); err == nil {
				env.Setenv("MLTRACK_TEST_PYTHON", filepath.Join(mlflowtest.DefaultVenv, "bin", "python"))
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// mlflowpy FILE [args...]: runs a Python file with the pinned MLflow; stdout/stderr are the
			// script's. MLFLOW_ALLOW_FILE_STORE=true so file stores open on MLflow >= 3.13.
			"mlflowpy": func(ts *testscript.TestScript, neg bool, args []string) {
				// Scripts run on their own goroutines: fail the script (never skip) when MLflow is
				// missing; the README's test command installs it.
				interp, err := mlflowtest.Find()
				if err != nil {
					ts.Fatalf("%v", err)
				}
				if len(args) < 1 {
					ts.Fatalf("usage: mlflowpy FILE [args...]")
				}
				cmd := exec.Command(interp, append([]string{ts.MkAbs(args[0])}, args[1:]...)...)
				cmd.Dir = ts.Getenv("WORK")
				cmd.Env = append(mlflowtest.CleanEnv(), "MLFLOW_ALLOW_FILE_STORE=true", "HOME="+ts.Getenv("HOME"))
				for _, k := range []string{"MLFLOW_TRACKING_URI", "PATH", "MLTRACK_SPOOL_DIR", "LOGNAME", "USER"} {
					if v := ts.Getenv(k); v != "" {
						cmd.Env = append(cmd.Env, k+"="+v)
					}
				}
				var stdout, stderr strings.Builder
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err = cmd.Run()
				ts.Logf("mlflowpy stdout:\n%s", stdout.String())
				fmt.Fprint(ts.Stdout(), stdout.String())
				fmt.Fprint(ts.Stderr(), stderr.String())
				if err != nil && !neg {
					ts.Fatalf("mlflowpy %s: %v\n%s", args[0], err, stderr.String())
				}
				if err == nil && neg {
					ts.Fatalf("mlflowpy %s unexpectedly succeeded", args[0])
				}
			},
			// waitfile FILE [seconds]: waits until FILE exists (bounded).
			"waitfile": func(ts *testscript.TestScript, neg bool, args []string) {
				limit := 10 * time.Second
				if len(args) > 1 {
					n, _ := strconv.Atoi(args[1])
					limit = time.Duration(n) * time.Second
				}
				deadline := time.Now().Add(limit)
				for time.Now().Before(deadline) {
					if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
				ts.Fatalf("%s did not appear within %s", args[0], limit)
			},
		},
	})
}

// testChild is a portable stand-in command for the scripts:
//
//	testchild exit N              exit with status N
//	testchild out TEXT            write TEXT to stdout (no newline)
//	testchild err TEXT            write TEXT to stderr (no newline)
//	testchild env NAME            print $NAME
//	testchild write FILE TEXT     create FILE with TEXT
//	testchild kill SIG            send itself signal SIG (TERM, INT, KILL, SEGV, USR1...)
//	testchild sleep SECONDS       sleep
//	testchild args ARGS...        print each argument on its own line
//	testchild touchfile FILE      write FILE then keep running for 100ms
//
// Steps can be chained with ";" as separate arguments: testchild out a ; exit 3
func testChild() {
	args := os.Args[1:]
	for len(args) > 0 {
		end := len(args)
		for i, a := range args {
			if a == ";" {
				end = i
				break
			}
		}
		step := args[:end]
		if end < len(args) {
			args = args[end+1:]
		} else {
			args = nil
		}
		if len(step) == 0 {
			continue
		}
		switch step[0] {
		case "exit":
			n, _ := strconv.Atoi(step[1])
			os.Exit(n)
		case "out":
			fmt.Fprint(os.Stdout, strings.Join(step[1:], " "))
		case "err":
			fmt.Fprint(os.Stderr, strings.Join(step[1:], " "))
		case "env":
			fmt.Println(os.Getenv(step[1]))
		case "write":
			if err := os.WriteFile(step[1], []byte(strings.Join(step[2:], " ")), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		case "kill":
			sig := testSignals[step[1]]
			killSelf(sig)
		case "sleep":
			f, _ := strconv.ParseFloat(step[1], 64)
			time.Sleep(time.Duration(f * float64(time.Second)))
		case "args":
			for _, a := range step[1:] {
				fmt.Println(a)
			}
		default:
			fmt.Fprintf(os.Stderr, "testchild: unknown step %q\n", step[0])
			os.Exit(2)
		}
	}
	os.Exit(0)
}
