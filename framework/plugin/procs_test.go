package plugin

import "testing"

func TestProcsFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		procs      int
		env        string
		busy, cpus int
		want       int
	}{
		{"default is one thread", 0, "", 0, 8, 1},
		{"one busy task, one thread", 0, "", 1, 8, 1},
		{"a thread per busy task", 0, "", 3, 8, 3},
		{"no more than the cores", 0, "", 12, 8, 8},
		{"the plugin asks for more per task", 4, "", 0, 8, 4},
		{"the plugin's threads per busy task", 2, "", 3, 8, 6},
		{"a negative count means the default", -2, "", 0, 8, 1},
		{"the environment decides", 4, "8", 3, 8, 0},
		{"the environment decides for a default plugin", 0, "2", 0, 8, 0},
		{"a blank variable is unset", 3, " ", 0, 8, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := procsFor(Plugin{Procs: tt.procs}, tt.env, tt.busy, tt.cpus); got != tt.want {
				t.Fatalf("procsFor(Procs: %d, GOMAXPROCS=%q, %d busy, %d cores) = %d, want %d", tt.procs, tt.env, tt.busy, tt.cpus, got, tt.want)
			}
		})
	}
}

// A task is busy in a tick when it moved busyRecords since the last one.
func TestLoadTrackerCountsBusyTasks(t *testing.T) {
	t.Parallel()
	s := newServerOf(func() Client { return nil }, nil, nil)
	a, b, c := &instance{id: 1}, &instance{id: 2}, &instance{id: 3}
	s.instances[1], s.instances[2], s.instances[3] = a, b, c
	if got := s.load.tick(); got != 0 {
		t.Fatalf("first tick: %d busy, want 0", got)
	}
	a.count(int(busyRecords))
	b.count(int(busyRecords - 1))
	c.count(10 * int(busyRecords))
	if got := s.load.tick(); got != 2 || s.load.busyTasks() != 2 {
		t.Fatalf("%d busy (%d), want 2", got, s.load.busyTasks())
	}
	b.count(1)
	if got := s.load.tick(); got != 0 {
		t.Fatalf("after a quiet tick: %d busy, want 0", got)
	}
}
