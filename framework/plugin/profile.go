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
func startCPUProfile() (stop func()) { return StartCPUProfile(CPUProfileEnv) }

// StartCPUProfile writes a CPU profile of the process to
// <prefix>.<pid>.pprof, the prefix taken from the environment variable
// env, until the function it returns is called; without the variable it
// does nothing. The connectd command uses it for its own processes
// (worker, broker) with CONNECTD_CPUPROFILE.
func StartCPUProfile(env string) (stop func()) {
	prefix := os.Getenv(env)
	if prefix == "" {
		return func() {}
	}
	path := fmt.Sprintf("%s.%d.pprof", prefix, os.Getpid())
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "connectd: %s: %v; no CPU profile\n", env, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "connectd: %s: %v; no CPU profile\n", env, err)
		f.Close()
		os.Remove(path)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
