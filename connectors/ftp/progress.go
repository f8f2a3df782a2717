package ftp

import (
	"sync"
	"time"
)

// progress is what the task shows under "progress" in its REST status.
// Poll updates it; Progress reads it from another goroutine.
type progress struct {
	mu           sync.Mutex
	connected    bool
	downSince    time.Time
	lastErr      string
	filesQueued  int
	filesWaiting int // listed, not yet complete
	moreWaiting  bool
	filesDone    int64
	filesFailed  int64
	cleanupFails int64
	records      int64
	bytes        int64
	current      string
	lastList     time.Time
	listDuration time.Duration
	listFiles    int
	failures     []map[string]any // the latest, newest last
}

const maxFailuresShown = 10

func (p *progress) setConn(up bool, err error, since time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.connected, p.downSince = up, since
	if err != nil {
		p.lastErr = err.Error()
	}
}

func (p *progress) reading(path string) {
	p.mu.Lock()
	p.current = path
	if p.filesQueued > 0 {
		p.filesQueued--
	}
	p.mu.Unlock()
}

func (p *progress) read(records, bytes int64) {
	p.mu.Lock()
	p.records += records
	p.bytes += bytes
	p.mu.Unlock()
}

func (p *progress) fileDone() {
	p.mu.Lock()
	p.filesDone++
	p.current = ""
	p.mu.Unlock()
}

func (p *progress) fileFailed(path string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.filesFailed++
	if p.current == path {
		p.current = ""
	}
	p.noteFailure(path, "read", err)
}

func (p *progress) cleanupFailed(path string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cleanupFails++
	p.noteFailure(path, "cleanup", err)
}

func (p *progress) noteFailure(path, what string, err error) {
	p.failures = append(p.failures, map[string]any{"file": path, "stage": what, "error": err.Error(), "time": time.Now().UTC().Format(time.RFC3339)})
	if len(p.failures) > maxFailuresShown {
		p.failures = p.failures[len(p.failures)-maxFailuresShown:]
	}
}

func (p *progress) listed(files int, took time.Duration) {
	p.mu.Lock()
	p.lastList, p.listFiles, p.listDuration = time.Now(), files, took
	p.mu.Unlock()
}

func (p *progress) pending(queued, waiting int, more bool) {
	p.mu.Lock()
	p.filesQueued, p.filesWaiting, p.moreWaiting = queued, waiting, more
	p.mu.Unlock()
}

// Progress reports files pending, done and failed, records and bytes
// read, the file being read, the connection and the latest failures.
func (t *sourceTask) Progress() map[string]any {
	p := &t.prog
	p.mu.Lock()
	defer p.mu.Unlock()
	m := map[string]any{
		"files_pending":   p.filesQueued + p.filesWaiting,
		"files_queued":    p.filesQueued,
		"files_waiting":   p.filesWaiting,
		"files_done":      p.filesDone,
		"files_failed":    p.filesFailed,
		"records_read":    p.records,
		"bytes_read":      p.bytes,
		"connected":       p.connected,
		"more_in_listing": p.moreWaiting,
	}
	if p.current != "" {
		m["file_reading"] = p.current
	}
	if !p.connected && !p.downSince.IsZero() {
		m["down_since"] = p.downSince.UTC().Format(time.RFC3339)
	}
	if p.lastErr != "" {
		m["last_connection_error"] = p.lastErr
	}
	if !p.lastList.IsZero() {
		m["last_listing"] = map[string]any{"time": p.lastList.UTC().Format(time.RFC3339), "files": p.listFiles, "ms": p.listDuration.Milliseconds()}
	}
	if p.cleanupFails > 0 {
		m["cleanups_failed"] = p.cleanupFails
	}
	if len(p.failures) > 0 {
		fs := make([]any, len(p.failures))
		for i, f := range p.failures {
			fs[i] = f
		}
		m["failures"] = fs
	}
	return m
}
