package proctest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// RSSMiB is a process's resident memory now (VmRSS), in MiB.
func RSSMiB(tb testing.TB, pid int) float64 { tb.Helper(); return statusMiB(tb, pid, "VmRSS") }

// PeakMiB is a process's peak resident memory (VmHWM), in MiB.
func PeakMiB(tb testing.TB, pid int) float64 { tb.Helper(); return statusMiB(tb, pid, "VmHWM") }

// statusMiB reads a size field of /proc/<pid>/status, given there in kB.
func statusMiB(tb testing.TB, pid int, field string) float64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			kb, err := strconv.Atoi(strings.Fields(v)[0])
			if err != nil {
				tb.Fatalf("/proc/%d/status: %s: %v", pid, field, err)
			}
			return float64(kb) / 1024
		}
	}
	tb.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}

// ChildWithArg finds the child process of parent whose command line has
// arg as one of its arguments (a plugin process is started with its task's
// id), or 0.
func ChildWithArg(parent int, arg string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cl, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !strings.Contains(string(cl), "\x00"+arg) {
			continue
		}
		st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		s := string(st)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 > len(s) {
			continue
		}
		fields := strings.Fields(s[i+2:])
		if len(fields) > 1 {
			if pp, _ := strconv.Atoi(fields[1]); pp == parent {
				return pid
			}
		}
	}
	return 0
}
