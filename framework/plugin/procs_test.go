package plugin

import "testing"

func TestProcsFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		procs int
		env   string
		want  int
	}{
		{"default is one thread", 0, "", 1},
		{"the plugin asks for more", 4, "", 4},
		{"a negative count means the default", -2, "", 1},
		{"the environment decides", 4, "8", 0},
		{"the environment decides for a default plugin", 0, "2", 0},
		{"a blank variable is unset", 3, " ", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := procsFor(Plugin{Procs: tt.procs}, tt.env); got != tt.want {
				t.Fatalf("procsFor(Procs: %d, GOMAXPROCS=%q) = %d, want %d", tt.procs, tt.env, got, tt.want)
			}
		})
	}
}
