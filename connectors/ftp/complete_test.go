package ftp

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// TestSlowWriterNotReadEarly appends to a file for several seconds, a
// line every 250 ms, with file.minimum.age.ms at 4 s: nothing of it is
// read before the writer is done, and then all of it.
func TestSlowWriterNotReadEarly(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *server) {
		s.write(t, "/in/slow.txt", lines("s", 1)[:0], time.Time{})
		d := newDriver(t, s.config(MinAgeKey, "4000"), nil)
		var wg sync.WaitGroup
		done := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done)
			f, err := os.OpenFile(s.local("/in/slow.txt"), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			for i := range 20 {
				fmt.Fprintf(f, "s-%d\n", i)
				time.Sleep(250 * time.Millisecond)
			}
		}()
		for {
			select {
			case <-done:
			default:
				d.poll()
				d.commit()
				if n := d.count(); n > 0 {
					t.Fatalf("%d records read while the file was still being written", n)
				}
				continue
			}
			break
		}
		wg.Wait()
		d.run(30*time.Second, "the whole file", func() bool { return d.count() >= 20 })
		exactlyOnce(t, d.records(), wantLines("s", 20))
	})
}

// TestDoneMarkerReleasesAtOnce waits for a marker file: without it a file
// is not read, however old; with it, at the next listing, whatever
// file.minimum.age.ms says. The marker moves with its file.
func TestDoneMarkerReleasesAtOnce(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *server) {
		s.write(t, "/in/a.csv", lines("a", 10), fixedTime)
		s.mkdir(t, "/done")
		d := newDriver(t, s.config(DoneSuffixKey, ".ok", MinAgeKey, "3600000", CleanupKey, CleanupMove, FinishedPathKey, "/done"), nil)
		for range 3 {
			d.poll()
		}
		if n := d.count(); n != 0 {
			t.Fatalf("%d records read before the marker", n)
		}
		s.write(t, "/in/a.csv.ok", nil, time.Time{})
		d.run(10*time.Second, "the file read and moved with its marker", func() bool {
			return d.count() == 10 && !s.exists("/in/a.csv.ok") && s.exists("/done/a.csv") && s.exists("/done/a.csv.ok")
		})
		exactlyOnce(t, d.records(), wantLines("a", 10))
	})
}
