package s3sink

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// chunkSize is the unit buffers grow by. Small enough that a thousand
// open files with a few records each hold little; large enough that a
// 25 MiB part is a few thousand chunks.
const chunkSize = 8 << 10

// chunkPool hands out chunks and counts those in use: that count is what
// the memory budget limits. Freed chunks are kept for reuse up to a small
// number, so steady writing makes no garbage and RSS tracks the count.
type chunkPool struct {
	inUse atomic.Int64 // bytes of chunks handed out and not returned

	mu   sync.Mutex
	free [][]byte
	keep int
}

func newChunkPool(keepBytes int64) *chunkPool {
	return &chunkPool{keep: int(keepBytes / chunkSize)}
}

func (p *chunkPool) get() []byte {
	p.inUse.Add(chunkSize)
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		c := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return c[:0]
	}
	p.mu.Unlock()
	return make([]byte, 0, chunkSize)
}

func (p *chunkPool) put(c []byte) {
	p.inUse.Add(-chunkSize)
	p.mu.Lock()
	if len(p.free) < p.keep {
		p.free = append(p.free, c)
	}
	p.mu.Unlock()
}

// chunkBuf is a byte buffer made of pool chunks: it grows without copying
// and goes back to the pool whole.
type chunkBuf struct {
	pool   *chunkPool
	chunks [][]byte
	n      int64
}

func (b *chunkBuf) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(b.chunks) == 0 || len(b.chunks[len(b.chunks)-1]) == chunkSize {
			b.chunks = append(b.chunks, b.pool.get())
		}
		last := &b.chunks[len(b.chunks)-1]
		k := copy((*last)[len(*last):chunkSize], p)
		*last = (*last)[:len(*last)+k]
		p = p[k:]
	}
	b.n += int64(n)
	return n, nil
}

// Len is the number of bytes written.
func (b *chunkBuf) Len() int64 { return b.n }

// held is the memory the buffer holds.
func (b *chunkBuf) held() int64 { return int64(len(b.chunks)) * chunkSize }

// take moves the contents into a new buffer and leaves b empty.
func (b *chunkBuf) take() *chunkBuf {
	t := &chunkBuf{pool: b.pool, chunks: b.chunks, n: b.n}
	b.chunks, b.n = nil, 0
	return t
}

// release returns the chunks to the pool; b is empty after.
func (b *chunkBuf) release() {
	for _, c := range b.chunks {
		b.pool.put(c)
	}
	b.chunks, b.n = nil, 0
}

// reader reads the buffer from the start; it seeks, so a failed request
// can be sent again.
func (b *chunkBuf) reader() *chunkReader { return &chunkReader{b: b} }

type chunkReader struct {
	b   *chunkBuf
	off int64
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.off >= r.b.n {
		return 0, io.EOF
	}
	n := 0
	for len(p) > 0 && r.off < r.b.n {
		c := r.b.chunks[r.off/chunkSize]
		k := copy(p, c[r.off%chunkSize:])
		p = p[k:]
		r.off += int64(k)
		n += k
	}
	return n, nil
}

func (r *chunkReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.b.n
	}
	if offset < 0 || offset > r.b.n {
		return 0, errors.New("s3-sink: seek out of range")
	}
	r.off = offset
	return offset, nil
}
