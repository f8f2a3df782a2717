package proctest

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/connectd/connectd/internal/testserver"
)

// RSSMiB is a process's resident memory now (VmRSS), in MiB.
func RSSMiB(tb testing.TB, pid int) float64 { tb.Helper(); return statusMiB(tb, pid, "VmRSS") }

// PeakMiB is a process's peak resident memory (VmHWM), in MiB.
func PeakMiB(tb testing.TB, pid int) float64 { tb.Helper(); return statusMiB(tb, pid, "VmHWM") }

// PssMiB is a process's proportional set size now, in MiB: its resident
// memory with every page it shares with other processes (the pages of a
// binary that several plugin processes run) divided between them, so that
// a sum over processes counts each page once.
func PssMiB(tb testing.TB, pid int) float64 {
	tb.Helper()
	return procMiB(tb, fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss")
}

// statusMiB reads a size field of /proc/<pid>/status, given there in kB.
func statusMiB(tb testing.TB, pid int, field string) float64 {
	tb.Helper()
	return procMiB(tb, fmt.Sprintf("/proc/%d/status", pid), field)
}

// procMiB reads a size field, given in kB, of a /proc file.
func procMiB(tb testing.TB, path, field string) float64 {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			kb, err := strconv.Atoi(strings.Fields(v)[0])
			if err != nil {
				tb.Fatalf("%s: %s: %v", path, field, err)
			}
			return float64(kb) / 1024
		}
	}
	tb.Fatalf("%s has no %s", path, field)
	return 0
}

// ChildWithArg finds the child process of parent that has arg as one of
// its arguments, or 0.
func ChildWithArg(parent int, arg string) int {
	for _, pid := range Children(parent) {
		if slices.Contains(Cmdline(pid), arg) {
			return pid
		}
	}
	return 0
}

// TaskPlugin finds the plugin process under the worker parent that runs
// task of connector: the task's own process (plugin.isolation=task,
// started with "<connector>-<task>") or its connector's (connector,
// started with the connector's name), or 0.
func TaskPlugin(parent int, connector string, task int) int {
	if pid := ChildWithArg(parent, fmt.Sprintf("%s-%d", connector, task)); pid != 0 {
		return pid
	}
	return ChildWithArg(parent, connector)
}

// Children returns the pids of parent's child processes.
func Children(parent int) []int {
	var out []int
	for _, p := range testserver.ProcStats() {
		if p.PPID == parent {
			out = append(out, p.PID)
		}
	}
	return out
}

// Cmdline returns a process's arguments, or nil once it is gone.
func Cmdline(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}
