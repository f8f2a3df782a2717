package ftp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// A small file costs its round trips more than its bytes: four on FTP
// (PASV, RETR, the data connection, the closing reply), each a wait on a
// busy machine. The prefetcher downloads small queued files whole, ahead
// of their turn, on a second connection of its own; while it waits on
// one, the task reads the files it fetched before, and, when the next is
// still on its way, fetches another itself on its own connection. Files
// are still read in queue order, from memory instead of a transfer, and
// nothing else changes: the prefetcher reports no error. A file it could
// not fetch, for whatever reason, is downloaded by the task as if it had
// never been handed over, and the task's own paths (error.path, retry,
// reconnect) deal with what goes wrong.
//
// The second connection never costs the task its own: it is opened only
// while the task is connected, closed as soon as the task's connection is
// lost (so that on a server allowing a user few connections the task gets
// its slot back first), and closed when it has had nothing to fetch for
// ftp.keepalive.interval.ms. A server that refuses it is asked again
// after waits that double up to prefetchBackoffMax.

// prefetchMaxSize is the largest file fetched ahead: prefetch holds at
// most ftp.prefetch.files of them.
const prefetchMaxSize = 64 << 10

const (
	// prefetchBackoffMax bounds the wait before a refused second
	// connection is asked for again.
	prefetchBackoffMax = 10 * time.Minute
	// takeWait is how long the task waits for a file the prefetcher is
	// still fetching before it downloads the file itself: a second
	// connection that stalls holds the task no longer.
	takeWait = 5 * time.Second
)

// fetch is one file handed to the prefetcher.
type fetch struct {
	path    string
	size    int64
	claimed bool // taken by the prefetcher or the task: nobody else fetches it
	data    []byte
	err     error
	done    chan struct{} // closed once data or err is set
}

// prefetcher fetches files handed over in order, on its own connection,
// which it opens on its first file, keeps alive while idle, and opens
// again, after a wait, when it is lost.
type prefetcher struct {
	cfg *config
	log *slog.Logger

	mu       sync.Mutex
	pending  []*fetch // handed over and not taken by the task yet, in queue order
	rem      remote   // nil while the prefetcher has no connection
	allowed  bool     // the task is connected: the prefetcher may be too
	started  bool
	connects int // connections opened
	ready    chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	// Used by the prefetcher's goroutine only.
	retryAt time.Time // no connection is opened before
	backoff time.Duration
	warned  bool // a refusal was logged as a warning since the last connection
}

func newPrefetcher(cfg *config, log *slog.Logger) *prefetcher {
	ctx, cancel := context.WithCancel(context.Background())
	return &prefetcher{cfg: cfg, log: log, ready: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
}

// prefetchable reports whether f may be fetched ahead: small and not
// read at all yet, and its last transfer did not fail.
func prefetchable(f *fileState) bool {
	return f.id.size <= prefetchMaxSize && f.emitted.pos == 0 && !f.emitted.eof && f.attempts == 0
}

// handOver gives the prefetcher the prefetchable files near the front of
// the queue, up to ftp.prefetch.files not taken yet.
func (t *sourceTask) handOver() {
	if t.pre == nil {
		return
	}
	room := t.cfg.prefetch - t.pre.outstanding()
	for i := 0; i < len(t.queue) && i < 2*t.cfg.prefetch && room > 0; i++ {
		if f := t.queue[i]; f.fetch == nil && prefetchable(f) {
			f.fetch = t.pre.add(f.id.path, f.id.size)
			room--
		}
	}
}

// openFetched opens f from what the prefetcher fetched, when it has it:
// ok false means f is to be downloaded as usual; err is the task's
// connection's, failing while the task fetched another file meanwhile.
func (t *sourceTask) openFetched(ctx context.Context, f *fileState, from int64) (rc io.ReadCloser, ok bool, err error) {
	fe := f.fetch
	if fe == nil {
		return nil, false, nil
	}
	if from != 0 {
		f.fetch = nil
		t.pre.drop(fe)
		return nil, false, nil
	}
	data, ok, err := t.pre.take(ctx, t.rem, fe)
	if err != nil {
		// The connection's, fetching another file: f keeps its fetch for
		// when it is opened again, and nothing of it is blamed.
		return nil, false, &transferError{err}
	}
	f.fetch = nil
	if !ok {
		return nil, false, nil
	}
	return io.NopCloser(bytes.NewReader(data)), true, nil
}

// setConnected tells the prefetcher whether the task is connected. Once
// the task is not, the prefetcher's fetch under way fails and its
// connection closes, and it opens none until the task is again.
func (p *prefetcher) setConnected(on bool) {
	p.mu.Lock()
	p.allowed = on
	if !on && p.rem != nil {
		p.rem.interrupt()
	}
	p.mu.Unlock()
	p.signal()
}

func (p *prefetcher) outstanding() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending)
}

// add hands a file over, starting the prefetcher's goroutine the first
// time.
func (p *prefetcher) add(path string, size int64) *fetch {
	fe := &fetch{path: path, size: size, done: make(chan struct{})}
	p.mu.Lock()
	p.pending = append(p.pending, fe)
	if !p.started {
		p.started = true
		p.wg.Add(1)
		go p.run()
	}
	p.mu.Unlock()
	p.signal()
	return fe
}

func (p *prefetcher) signal() {
	select {
	case p.ready <- struct{}{}:
	default:
	}
}

// drop forgets fe; a fetch under way ends unseen.
func (p *prefetcher) drop(fe *fetch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.remove(fe)
}

func (p *prefetcher) remove(fe *fetch) {
	for i, g := range p.pending {
		if g == fe {
			copy(p.pending[i:], p.pending[i+1:])
			p.pending[len(p.pending)-1] = nil
			p.pending = p.pending[:len(p.pending)-1]
			return
		}
	}
}

// take returns fe's file, fetched: ok false when nobody fetched it (the
// task downloads it itself now) or the fetch failed. While the
// prefetcher is still fetching it, the task fetches the next file nobody
// has taken on its own connection rem; err is that connection's failure
// (fe stays handed over), or ctx's end.
func (p *prefetcher) take(ctx context.Context, rem remote, fe *fetch) (data []byte, ok bool, err error) {
	for {
		p.mu.Lock()
		if !fe.claimed {
			fe.claimed = true
			p.remove(fe)
			p.mu.Unlock()
			return nil, false, nil
		}
		select {
		case <-fe.done:
			p.remove(fe)
			p.mu.Unlock()
			if fe.err != nil {
				p.log.Debug("ftp: fetching a file ahead failed; downloading it now", "file", fe.path, "error", fe.err)
				return nil, false, nil
			}
			return fe.data, true, nil
		default:
		}
		other := p.claimLocked()
		p.mu.Unlock()
		if other == nil {
			timer := time.NewTimer(takeWait)
			select {
			case <-fe.done:
				timer.Stop()
				continue
			case <-timer.C:
				// The second connection stalls: download the file
				// itself; the late fetch goes unseen.
				p.drop(fe)
				p.log.Debug("ftp: a file fetched ahead is late; downloading it now", "file", fe.path)
				return nil, false, nil
			case <-ctx.Done():
				timer.Stop()
				return nil, false, ctx.Err()
			}
		}
		data, err := fetchWhole(ctx, rem, other.path, other.size)
		p.finish(other, data, err) // a failed one is downloaded again in its turn
		if err != nil && !isFileError(err) {
			return nil, false, err
		}
	}
}

func (p *prefetcher) finish(fe *fetch, data []byte, err error) {
	p.mu.Lock()
	fe.data, fe.err = data, err
	p.mu.Unlock()
	close(fe.done)
}

// fetchWhole downloads the file p of size bytes into memory, and checks
// that all of it came and the server reports the transfer done.
func fetchWhole(ctx context.Context, rem remote, p string, size int64) ([]byte, error) {
	rc, _, err := rem.open(ctx, p, 0, size)
	if err != nil {
		return nil, err
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(io.LimitReader(rc, size), data); err != nil {
		rc.Close()
		return nil, &transferError{fmt.Errorf("fetch %s ahead: %w", p, err)}
	}
	if size == 0 {
		// Let an FTPS server finish the data connection's handshake
		// before it reports the transfer done (startTransfer does the
		// same).
		rc.Read(make([]byte, 1))
	}
	if err := rc.Close(); err != nil {
		return nil, &transferError{fmt.Errorf("fetch %s ahead: the server reports the transfer failed: %w", p, err)}
	}
	return data, nil
}

// run fetches the files handed over, first come first fetched, until
// close.
func (p *prefetcher) run() {
	defer p.wg.Done()
	for p.wait() {
		rem := p.conn()
		if rem == nil {
			if rem = p.dial(); rem == nil {
				continue
			}
		}
		fe := p.claim()
		if fe == nil {
			continue // the task took them all meanwhile
		}
		data, err := fetchWhole(p.ctx, rem, fe.path, fe.size)
		if s, ok := rem.(*sftpRemote); ok {
			// The file is closed before the task may move or delete it
			// on its own connection: some servers refuse that on an open
			// file.
			s.closing.Wait()
		}
		if err != nil && !isFileError(err) {
			p.lost(err)
		}
		p.finish(fe, data, err)
	}
}

// wait waits until a file nobody has taken waits for a fetch while the
// task is connected, and, after a failure, until the time to connect
// again: the task downloads the files handed over meanwhile itself. It
// closes the connection once the task's is lost, and when it has had
// nothing to fetch for ftp.keepalive.interval.ms. False once closed.
func (p *prefetcher) wait() bool {
	for {
		if p.ctx.Err() != nil {
			return false
		}
		p.mu.Lock()
		allowed := p.allowed
		p.mu.Unlock()
		if !allowed {
			p.release(false)
		} else if d := time.Until(p.retryAt); d > 0 {
			timer := time.NewTimer(d)
			select {
			case <-p.ctx.Done():
				timer.Stop()
				return false
			case <-timer.C:
			}
			continue
		} else if p.unclaimed() {
			return true
		}
		timer := time.NewTimer(p.cfg.keepalive)
		select {
		case <-p.ctx.Done():
			timer.Stop()
			return false
		case <-p.ready:
			timer.Stop()
		case <-timer.C:
			p.release(false) // idle: the server gets its connection back
		}
	}
}

func (p *prefetcher) unclaimed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, fe := range p.pending {
		if !fe.claimed {
			return true
		}
	}
	return false
}

// release closes the prefetcher's connection, if it has one; interrupt
// first for one that failed, whose close must not wait on the server.
func (p *prefetcher) release(interrupt bool) {
	p.mu.Lock()
	rem := p.rem
	p.rem = nil
	p.mu.Unlock()
	if rem == nil {
		return
	}
	if interrupt {
		rem.interrupt()
	}
	rem.close()
}

// claim takes the first file nobody has taken.
func (p *prefetcher) claim() *fetch {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.claimLocked()
}

func (p *prefetcher) claimLocked() *fetch {
	for _, fe := range p.pending {
		if !fe.claimed {
			fe.claimed = true
			return fe
		}
	}
	return nil
}

func (p *prefetcher) conn() remote {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rem
}

// dial opens the prefetcher's connection; nil when it cannot, and then
// it waits before it tries again. A refusal is a warning once, until a
// connection is opened again: a server that allows one connection a user
// refuses every time.
func (p *prefetcher) dial() remote {
	rem, err := dial(p.ctx, p.cfg, p.log)
	if err != nil {
		p.backoff = min(max(2*p.backoff, firstBackoff), prefetchBackoffMax)
		p.retryAt = time.Now().Add(p.backoff)
		if p.ctx.Err() == nil {
			level := slog.LevelDebug
			if !p.warned {
				level, p.warned = slog.LevelWarn, true
			}
			p.log.Log(p.ctx, level, "ftp: cannot open a second connection for small files; the task downloads them on its own", "again in", p.backoff, "error", err)
		}
		return nil
	}
	p.mu.Lock()
	p.rem = rem
	p.connects++
	if !p.allowed { // the task's connection was lost while it dialed
		rem.interrupt()
	}
	p.mu.Unlock()
	if p.ctx.Err() != nil { // close ran while it dialed
		rem.interrupt()
	}
	p.backoff, p.warned = 0, false
	return rem
}

// lost drops a connection that failed.
func (p *prefetcher) lost(err error) {
	p.release(true)
	p.mu.Lock()
	allowed := p.allowed
	p.mu.Unlock()
	if p.ctx.Err() != nil || !allowed {
		return // closed, or the task's connection is lost: not a fault of its own
	}
	p.backoff = min(max(2*p.backoff, firstBackoff), prefetchBackoffMax)
	p.retryAt = time.Now().Add(p.backoff)
	p.log.Warn("ftp: the second connection for small files failed; opening it again", "in", p.backoff, "error", err)
}

// close ends the fetch under way and the connection, and waits for the
// goroutine to end.
func (p *prefetcher) close() {
	p.cancel()
	p.mu.Lock()
	if p.rem != nil {
		p.rem.interrupt()
	}
	p.mu.Unlock()
	p.wg.Wait()
	p.release(false) // interrupted above when it was there
	p.mu.Lock()
	p.pending = nil
	p.mu.Unlock()
}
