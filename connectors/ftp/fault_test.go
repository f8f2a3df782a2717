package ftp

import (
	"fmt"
	"testing"
	"time"
)

// TestConnectionDroppedMidTransfer drops the connection in the middle of
// a download (fault server): the task connects again and resumes with
// REST after its last returned record; with LIST and MLSD listings alike,
// every line arrives exactly once.
func TestConnectionDroppedMidTransfer(t *testing.T) {
	for _, listOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("listOnly=%v", listOnly), func(t *testing.T) {
			t.Parallel()
			fs := startFaultServer(t, listOnly, false)
			fs.write(t, "/in/a.txt", lines("a", 20_000))
			fs.dropAfter.Store(100_000)
			d := newDriver(t, fs.config(BatchSizeKey, "300"), nil)
			d.run(30*time.Second, "every line", func() bool { return d.count() >= 20_000 })
			exactlyOnce(t, d.records(), wantLines("a", 20_000))
			if fs.drops.Load() != 1 {
				t.Fatalf("%d connections dropped, want 1", fs.drops.Load())
			}
		})
	}
}

// TestRESTRefused resumes a file on a server that refuses REST: the task
// reads from the start and skips to its stored position; records repeat
// only after the last committed offset.
func TestRESTRefused(t *testing.T) {
	fs := startFaultServer(t, false, true)
	fs.write(t, "/in/a.txt", lines("a", 5000))
	cfg := fs.config(BatchSizeKey, "250")
	d := newDriver(t, cfg, nil)
	d.run(30*time.Second, "a part of the file", func() bool { return d.count() >= 1000 })
	d.stop()
	first := d.records()
	d2 := newDriver(t, cfg, d.store)
	d2.run(30*time.Second, "the rest of the file", func() bool { return d2.count() >= 5000-len(first) })
	exactlyOnce(t, append(first, d2.records()...), wantLines("a", 5000))
	if fs.restRefused.Load() == 0 {
		t.Fatal("the task never asked for REST")
	}
	if read := d2.task.Progress()["bytes_read"].(int64); read != int64(len(lines("a", 5000))) {
		t.Fatalf("the resumed task read %d bytes, want the whole file", read)
	}
}

// TestRenameRefused has the server refuse to move a finished file (550):
// the file is not read again, the other files are read and moved, and
// once the server allows it the file moves too.
func TestRenameRefused(t *testing.T) {
	fs := startFaultServer(t, false, false)
	fs.write(t, "/in/a.txt", lines("a", 10))
	fs.write(t, "/done/.keep", nil)
	fs.refuseRename.Store(true)
	d := newDriver(t, fs.config(CleanupKey, CleanupMove, FinishedPathKey, "/done"), nil)
	d.run(20*time.Second, "a refused cleanup", func() bool { return d.task.Progress()["cleanups_failed"] != nil })
	fs.write(t, "/in/b.txt", lines("b", 10))
	d.run(20*time.Second, "b.txt read", func() bool { return d.count() == 20 })
	if !fs.exists("/in/a.txt") {
		t.Fatal("a.txt moved although the server refuses renames")
	}
	fs.refuseRename.Store(false)
	d.run(30*time.Second, "both files moved", func() bool { return fs.exists("/done/a.txt") && fs.exists("/done/b.txt") })
	exactlyOnce(t, d.records(), append(wantLines("a", 10), wantLines("b", 10)...))
}
