package plugin

import (
	"os"
	"runtime"
	"strings"
)

// setProcs sets this plugin process's GOMAXPROCS as p asks (see
// Plugin.Procs), unless the environment sets it.
func setProcs(p Plugin) {
	if n := procsFor(p, os.Getenv("GOMAXPROCS")); n > 0 {
		runtime.GOMAXPROCS(n)
	}
}

// procsFor returns the GOMAXPROCS for p, or 0 to leave the runtime's when
// env (the GOMAXPROCS variable) names one.
func procsFor(p Plugin, env string) int {
	if strings.TrimSpace(env) != "" {
		return 0
	}
	return max(p.Procs, 1)
}
