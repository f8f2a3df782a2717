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

// prefetchMaxSize is the largest file fetched ahead: prefetch holds at
// most ftp.prefetch.files of them.
const prefetchMaxSize = 64 << 10

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
	started  bool
	connects int // connections opened
	ready    chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	// Used by the prefetcher's goroutine only.
	retryAt time.Time // no connection is opened before
	backoff time.Duration
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
		return nil, false, err // f keeps its fetch for when it is opened again
	}
	f.fetch = nil
	if !ok {
		return nil, false, nil
	}
	return io.NopCloser(bytes.NewReader(data)), true, nil
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
		var other *fetch
		for _, g := range p.pending {
			if !g.claimed {
				other, g.claimed = g, true
				break
			}
		}
		p.mu.Unlock()
		if other == nil {
			select {
			case <-fe.done:
				continue
			case <-ctx.Done():
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
	data := make([]byte, size+1)
	n, err := io.ReadFull(io.LimitReader(rc, size), data[:size])
	if err != nil && (size > 0 || err != io.EOF) {
		rc.Close()
		return nil, &transferError{fmt.Errorf("fetch %s ahead: %w", p, err)}
	}
	if size == 0 {
		// Let an FTPS server finish the data connection's handshake
		// before it reports the transfer done (startTransfer does the
		// same).
		rc.Read(data)
	}
	if err := rc.Close(); err != nil {
		return nil, &transferError{fmt.Errorf("fetch %s ahead: the server reports the transfer failed: %w", p, err)}
	}
	return data[:n:n], nil
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
		if err != nil && !isFileError(err) {
			p.lost(err)
		} else {
			p.backoff = 0
		}
		p.finish(fe, data, err)
	}
}

// wait waits until a file nobody has taken waits for a fetch, keeping
// the connection alive meanwhile, and, after a failure, until the time
// to connect again: the task downloads the files handed over meanwhile
// itself. False once closed.
func (p *prefetcher) wait() bool {
	for {
		if p.ctx.Err() != nil {
			return false
		}
		if d := time.Until(p.retryAt); d > 0 {
			timer := time.NewTimer(d)
			select {
			case <-p.ctx.Done():
				timer.Stop()
				return false
			case <-timer.C:
			}
			continue
		}
		p.mu.Lock()
		for _, fe := range p.pending {
			if !fe.claimed {
				p.mu.Unlock()
				return true
			}
		}
		p.mu.Unlock()
		timer := time.NewTimer(p.cfg.keepalive)
		select {
		case <-p.ctx.Done():
			timer.Stop()
			return false
		case <-p.ready:
			timer.Stop()
		case <-timer.C:
			if rem := p.conn(); rem != nil {
				if err := rem.keepalive(p.ctx); err != nil {
					p.lost(err)
				}
			}
		}
	}
}

// claim takes the first file nobody has taken.
func (p *prefetcher) claim() *fetch {
	p.mu.Lock()
	defer p.mu.Unlock()
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
// it waits before it tries again.
func (p *prefetcher) dial() remote {
	rem, err := dial(p.ctx, p.cfg, p.log)
	if err != nil {
		p.backoff = min(max(2*p.backoff, firstBackoff), p.cfg.backoffMax)
		p.retryAt = time.Now().Add(p.backoff)
		if p.ctx.Err() == nil {
			p.log.Warn("ftp: cannot open the connection for files read ahead; the task downloads them itself meanwhile", "in", p.backoff, "error", err)
		}
		return nil
	}
	p.mu.Lock()
	p.rem = rem
	p.connects++
	p.mu.Unlock()
	if p.ctx.Err() != nil { // close ran while it dialed
		rem.interrupt()
	}
	return rem
}

// lost drops a connection that failed.
func (p *prefetcher) lost(err error) {
	p.mu.Lock()
	rem := p.rem
	p.rem = nil
	p.mu.Unlock()
	if rem != nil {
		rem.interrupt()
		rem.close()
	}
	p.backoff = min(max(2*p.backoff, firstBackoff), p.cfg.backoffMax)
	p.retryAt = time.Now().Add(p.backoff)
	if p.ctx.Err() == nil {
		p.log.Warn("ftp: the connection for files read ahead failed; opening it again", "in", p.backoff, "error", err)
	}
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
	p.mu.Lock()
	rem := p.rem
	p.rem, p.pending = nil, nil
	p.mu.Unlock()
	if rem != nil {
		rem.close()
	}
}
