package ftp

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// Source partition and offset fields. A file's source partition is its
// identity: path, size and modification time (milliseconds since the
// epoch, whole seconds). Its offset says how far it was read: records
// returned, line breaks and bytes (of the uncompressed stream) before the
// next record, and whether the last record was read.
const (
	PartitionPath     = "path"
	PartitionSize     = "size"
	PartitionModified = "modified"
	OffsetRecords     = "records"
	OffsetLine        = "line"
	OffsetPosition    = "position"
	OffsetEOF         = "eof"
)

// fileID is a file's identity: a file whose size or modification time
// changed is another file.
type fileID struct {
	path     string
	size     int64
	modified int64 // Unix milliseconds, whole seconds
}

func newFileID(p string, size int64, mtime time.Time) fileID {
	return fileID{path: p, size: size, modified: mtime.Truncate(time.Second).UnixMilli()}
}

func (id fileID) partition() map[string]any {
	return map[string]any{PartitionPath: id.path, PartitionSize: id.size, PartitionModified: id.modified}
}

func (id fileID) mtime() time.Time { return time.UnixMilli(id.modified).UTC() }

func (id fileID) String() string {
	return fmt.Sprintf("%s (%d bytes, modified %s)", id.path, id.size, id.mtime().Format(time.RFC3339))
}

// idOf reads a source partition this connector wrote; ok is false for
// anything else.
func idOf(p map[string]any) (fileID, bool) {
	path, ok := p[PartitionPath].(string)
	if !ok || len(p) != 3 {
		return fileID{}, false
	}
	size, err1 := connect.OffsetInt64(p[PartitionSize])
	mod, err2 := connect.OffsetInt64(p[PartitionModified])
	if err1 != nil || err2 != nil {
		return fileID{}, false
	}
	return fileID{path: path, size: size, modified: mod}, true
}

// position is how far a file was read.
type position struct {
	records int64
	line    int64
	pos     int64
	eof     bool
}

func (p position) offset() map[string]any {
	return map[string]any{OffsetRecords: p.records, OffsetLine: p.line, OffsetPosition: p.pos, OffsetEOF: p.eof}
}

func positionOf(o map[string]any) (position, error) {
	var p position
	var err error
	if p.records, err = connect.OffsetInt64(o[OffsetRecords]); err != nil {
		return p, fmt.Errorf("%s: %w", OffsetRecords, err)
	}
	if p.line, err = connect.OffsetInt64(o[OffsetLine]); err != nil {
		return p, fmt.Errorf("%s: %w", OffsetLine, err)
	}
	if p.pos, err = connect.OffsetInt64(o[OffsetPosition]); err != nil {
		return p, fmt.Errorf("%s: %w", OffsetPosition, err)
	}
	p.eof, _ = o[OffsetEOF].(bool)
	if p.records < 0 || p.line < 0 || p.pos < 0 {
		return p, fmt.Errorf("negative position")
	}
	return p, nil
}

// owner returns the task that reads path: a stable hash of the path, so
// every file has exactly one reader whichever task lists it.
func owner(path string, tasks int) int {
	h := fnv.New32a()
	h.Write([]byte(path))
	return int(h.Sum32() % uint32(tasks))
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
