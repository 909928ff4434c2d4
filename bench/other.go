//go:build !linux

// Command bench measures mltrack; it reads Linux's /proc and rusage, so it runs on Linux only.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "bench: the benchmark suite runs on Linux only (it reads /proc and rusage)")
	os.Exit(2)
}
