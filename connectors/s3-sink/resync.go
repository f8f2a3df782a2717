package s3sink

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go"
)

// countObject counts the records of an object this sink wrote: a Parquet
// footer's row count, or the record separators of a JSON (one line per
// record) or ByteArray object. A ByteArray record that contains the
// separator itself would be counted twice: such data needs Parquet or
// JSON for replays to resume exactly.
func countObject(ctx context.Context, st *store, key string, size int64, spec *formatSpec) (int64, error) {
	if spec.name == formatParquet {
		f, err := parquet.OpenFile(&rangeReader{ctx: ctx, st: st, key: key}, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		if err != nil {
			return 0, fmt.Errorf("read Parquet footer: %w", err)
		}
		return f.NumRows(), nil
	}
	body, err := st.get(ctx, key, 0, 0)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	var r io.Reader = bufio.NewReaderSize(body, 1<<20)
	if spec.cfg.gzip {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return 0, err
		}
		r = gz
	}
	sep := []byte("\n")
	if spec.name == formatByteArray {
		sep = spec.cfg.byteArraySep
	}
	if len(sep) == 0 {
		return 0, fmt.Errorf("records without a separator cannot be counted")
	}
	return countSeparators(r, sep)
}

// countSeparators counts the occurrences of sep in r (KMP, so a
// separator split between reads still counts once).
func countSeparators(r io.Reader, sep []byte) (int64, error) {
	fail := make([]int, len(sep))
	for i, k := 1, 0; i < len(sep); i++ {
		for k > 0 && sep[i] != sep[k] {
			k = fail[k-1]
		}
		if sep[i] == sep[k] {
			k++
		}
		fail[i] = k
	}
	var n int64
	k := 0
	buf := make([]byte, 1<<20)
	for {
		m, err := r.Read(buf)
		for _, c := range buf[:m] {
			for k > 0 && c != sep[k] {
				k = fail[k-1]
			}
			if c == sep[k] {
				k++
			}
			if k == len(sep) {
				n++
				k = 0
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// rangeReader reads an object with ranged GETs.
type rangeReader struct {
	ctx context.Context
	st  *store
	key string
}

func (r *rangeReader) ReadAt(p []byte, off int64) (int, error) {
	body, err := r.st.get(r.ctx, r.key, off, int64(len(p)))
	if err != nil {
		return 0, err
	}
	defer body.Close()
	return io.ReadFull(body, p)
}
