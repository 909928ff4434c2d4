//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"
)

type machine struct {
	date, cpu, cores, memory, kernel, distro, fs string
	goVersion, pythonVersion, mlflowVersion      string
	gnuTime, mltrackVersion, commit, loadStart   string
	loadEnd                                      string
	took                                         time.Duration
}

func describeMachine(s *suite) *machine {
	m := &machine{date: time.Now().UTC().Format("2006-01-02 15:04 MST"), loadStart: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				m.cpu = strings.TrimSpace(line[strings.IndexByte(line, ':')+1:])
				break
			}
		}
	}
	m.cores = fmt.Sprint(runtime.NumCPU())
	if kb, ok := readStatusKB("/proc/meminfo", "MemTotal:"); ok {
		m.memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<30))
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		m.kernel = utsString(u.Release[:]) + " " + utsString(u.Machine[:])
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				m.distro = strings.Trim(v, `"`)
			}
		}
	}
	if virt := strings.TrimSpace(outputOf("systemd-detect-virt")); virt != "" && !strings.HasPrefix(virt, "unknown") {
		m.cpu += " (" + virt + " guest)"
	} else if b, err := os.ReadFile("/proc/cpuinfo"); err == nil && strings.Contains(string(b), " hypervisor") {
		m.cpu += " (virtual machine)"
	}
	m.fs = filesystemOf(os.TempDir())
	m.goVersion = strings.TrimSpace(outputOf("go", "version"))
	m.pythonVersion = strings.TrimSpace(outputOf(s.python, "-c", "import sys; print(sys.version.split()[0])"))
	m.mlflowVersion = strings.TrimSpace(outputOf(s.python, "-c", "import mlflow; print(mlflow.__version__)"))
	m.gnuTime = strings.TrimSpace(strings.SplitN(outputOf("/usr/bin/time", "--version"), "\n", 2)[0])
	if dpkg, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "time").Output(); err == nil {
		m.gnuTime = "GNU time " + string(dpkg) + " (Debian package)"
	}
	commit := exec.Command("git", "-C", s.repo, "describe", "--always", "--dirty", "--abbrev=12")
	if b, err := commit.Output(); err == nil {
		m.commit = strings.TrimSpace(string(b))
	}
	return m
}

func utsString(b []int8) string {
	var sb strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}

// filesystemOf finds the mount holding dir, from /proc/mounts (the longest matching mount point).
func filesystemOf(dir string) string {
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return "unknown"
	}
	best, bestType := "", "unknown"
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		mp := f[1]
		if (dir == mp || strings.HasPrefix(dir, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > len(best) {
			best, bestType = mp, f[2]+" on "+f[0]
		}
	}
	return dir + ": " + bestType
}

func (s *suite) render(m *machine, only string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Performance\n\n")
	w("How much mltrack costs, measured against what it replaces, and whether its resource figures are right.\n")
	w("Every figure is a ratio against an anchor measured in the same run, with the anchor and mltrack\n")
	w("interleaved (A B A B) so that other load on the machine falls on both alike. Medians, with the\n")
	w("spread (min–max, and the interquartile range where there are many repetitions).\n\n")
	w("Rerun everything (writes this file):\n\n```sh\nbench/run.sh\n```\n\n")
	w("`bench/run.sh --quick` runs small sizes with few repetitions and writes a scratch file instead;\n")
	w("`bench/run.sh --only startup,accuracy` runs some sections. The suite builds mltrack once, uses the pinned\n")
	w("MLflow venv (`scripts/mlflow-venv.sh`), starts one `mlflow server` on 127.0.0.1 for the sections that\n")
	w("need it, and keeps everything in one temporary directory that it removes.\n\n")
	if s.quick {
		w("> **Quick mode**: small sizes and few repetitions; these figures are for development only.\n\n")
	}
	if only != "" {
		w("> Only these sections were run: `%s`.\n\n", only)
	}
	w("## Machine\n\n")
	w("| | |\n| --- | --- |\n")
	w("| date | %s |\n", m.date)
	w("| CPU | %s, %s cores |\n", m.cpu, m.cores)
	w("| memory | %s |\n", m.memory)
	w("| OS, kernel | %s, Linux %s |\n", m.distro, m.kernel)
	w("| temporary files | %s |\n", m.fs)
	w("| Go | %s |\n", m.goVersion)
	w("| Python, MLflow | %s, MLflow %s (`mlflow server` with a SQLite backend, served artifacts, `--workers 1`) |\n", m.pythonVersion, m.mlflowVersion)
	w("| GNU time | %s |\n", m.gnuTime)
	w("| mltrack | %s, commit %s |\n", m.mltrackVersion, m.commit)
	w("| load average (1, 5, 15 min) | %s at the start, %s at the end |\n", m.loadStart, m.loadEnd)
	w("| suite's duration | %s |\n\n", m.took.Round(time.Second))
	w("The machine is shared: other processes ran during the suite (see the load averages, also given per\n")
	w("section). Interleaving and medians keep that from favouring either side, but it widens the spread.\n\n")

	// The summary: every row that has a target.
	w("## Targets\n\n| section | figure | target | result | met |\n| --- | --- | --- | --- | --- |\n")
	for _, sec := range s.sections {
		if sec.Err != "" {
			w("| %s | — | — | not run: %s | — |\n", sec.Title, escape(sec.Err))
			continue
		}
		ti, mi := col(sec.Header, "target"), col(sec.Header, "met")
		if ti < 0 || mi < 0 {
			continue
		}
		for _, row := range sec.Rows {
			if row[ti] == "" || row[ti] == "—" {
				continue
			}
			// The result is the ratio when there is one, else the nearest figure left of the target.
			res := ""
			if ri := col(sec.Header, sec.Result); sec.Result != "" && ri >= 0 {
				res = row[ri]
			} else if ri := col(sec.Header, "ratio"); ri >= 0 {
				res = row[ri]
			}
			for c := ti - 1; res == "" && c > 0; c-- {
				res = row[c]
			}
			w("| %s | %s | %s | %s | %s |\n", sec.Title, row[0], row[ti], res, row[mi])
		}
	}
	w("\n")
	if len(s.problems) > 0 {
		w("## Problems seen\n\n")
		for _, p := range s.problems {
			w("- %s\n", p)
		}
		w("\n")
	}
	for _, sec := range s.sections {
		w("## %s\n\n", sec.Title)
		if sec.Intro != "" {
			w("%s\n\n", strings.TrimSpace(sec.Intro))
		}
		if sec.Err != "" {
			w("**Not run: %s**\n\n", sec.Err)
		}
		if len(sec.Rows) > 0 {
			w("| %s |\n|", strings.Join(sec.Header, " | "))
			for range sec.Header {
				w(" --- |")
			}
			w("\n")
			for _, row := range sec.Rows {
				w("| %s |\n", strings.Join(row, " | "))
			}
			w("\n")
		}
		for _, n := range sec.Notes {
			w("- %s\n", n)
		}
		if len(sec.Notes) > 0 {
			w("\n")
		}
		w("Load average %s at the start of the section, %s at its end; it took %s. Rerun: `%s`.\n\n",
			sec.Load[0], sec.Load[1], sec.Took.Round(time.Second), sec.Rerun)
	}
	return b.String()
}

func col(header []string, name string) int {
	for i, h := range header {
		if strings.EqualFold(h, name) {
			return i
		}
	}
	return -1
}

func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}
