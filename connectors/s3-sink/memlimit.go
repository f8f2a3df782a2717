package s3sink

import (
	"os"
	"runtime/debug"
	"sync"
)

// The memory budget bounds the buffers a task holds; the Go collector
// would still let the heap grow to twice what is live between collections
// (GOGC=100), so a task holding its budget could reach twice it. In a
// plugin process, which hosts one connector's tasks, the sink therefore
// sets a soft memory limit of the budgets of its running tasks plus
// memOverhead, and the collector works harder near it instead. The
// operator's GOMEMLIMIT wins; in a worker process (plugin.isolation=none)
// the limit is left alone, as other connectors share it.
const memOverhead = 64 << 20

var memLimit struct {
	sync.Mutex
	budgets int64
	before  int64
}

func pluginProcess() bool {
	return len(os.Args) >= 3 && os.Args[1] == "plugin" && os.Args[2] == "serve" && os.Getenv("GOMEMLIMIT") == ""
}

// reserveMemory adds a task's budget to the process's soft memory limit
// and returns the function that takes it away again.
func reserveMemory(budget int64) func() {
	if !pluginProcess() {
		return func() {}
	}
	memLimit.Lock()
	defer memLimit.Unlock()
	if memLimit.budgets == 0 {
		memLimit.before = debug.SetMemoryLimit(-1)
	}
	memLimit.budgets += budget
	debug.SetMemoryLimit(memLimit.budgets + memOverhead)
	return func() {
		memLimit.Lock()
		defer memLimit.Unlock()
		memLimit.budgets -= budget
		if memLimit.budgets == 0 {
			debug.SetMemoryLimit(memLimit.before)
			return
		}
		debug.SetMemoryLimit(memLimit.budgets + memOverhead)
	}
}
