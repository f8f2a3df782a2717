package plugin

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// CPUProfileEnv, set in the worker's environment (which plugin processes
// inherit), makes every plugin process write a CPU profile of its life to
// <value>.<pid>.pprof, for `go tool pprof`: the worker's side of a pipeline
// profiles as any Go program, this gives the plugin's side. A process
// killed without a graceful stop leaves no profile.
const CPUProfileEnv = "CONNECTD_PLUGIN_CPUPROFILE"

// startCPUProfile starts the profile CPUProfileEnv asks for and returns
// what stops it.
func startCPUProfile() (stop func()) {
	prefix := os.Getenv(CPUProfileEnv)
	if prefix == "" {
		return func() {}
	}
	path := fmt.Sprintf("%s.%d.pprof", prefix, os.Getpid())
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "plugin: %s: %v; no CPU profile\n", CPUProfileEnv, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "plugin: %s: %v; no CPU profile\n", CPUProfileEnv, err)
		f.Close()
		os.Remove(path)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
