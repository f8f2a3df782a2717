package plugin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// A batch of records crosses the boundary as one byte string rather than a
// protobuf message per record: encoding is appends, and decoding slices
// keys, values and headers out of the buffer without copying, so a batch
// costs a few allocations instead of several per record.
//
// Layout, per record, after a uvarint record count:
//
//	flags        byte: 1 key null, 2 value null, 4 has error, 8 dropped,
//	             16 the error has details; 32, 64, 128: the topic, source
//	             partition, timestamp are the previous record's (absent)
//	topic        uvarint length + bytes
//	partition    varint
//	key, value   uvarint length + bytes (absent when null)
//	timestamp    varint (ms)
//	offset       varint
//	src part.    uvarint length + bytes (0: none)
//	src offset   uvarint length + bytes (0: none)
//	headers      uvarint count, each: key (uvarint length + bytes), null byte, value (length + bytes unless null)
//	error        five length-prefixed strings when flag 4: stage, class, exception class, message, trace
//	details      when flag 16: retriable byte, record description (length + bytes)
//
// Flags 4 and 8 together (an error on a dropped record, which never occurs)
// say that an extension byte follows the flags: 1 dropped, 2 has error, and
// the record's transaction request (TxnRequest) shifted left by 2. Only
// records that carry a transaction request use it, so batches of plugins
// that know nothing of it read as before.

const (
	flagKeyNull   = 1
	flagValueNull = 2
	flagErr       = 4
	flagDropped   = 8
	flagErrDetail = 16
	// A batch's records mostly share these with the record before.
	flagSameTopic     = 32
	flagSamePartition = 64 // the source partition
	flagSameTimestamp = 128
)

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// packRecords encodes rs into a new buffer.
func packRecords(rs []Record) []byte { return appendPacked(nil, rs) }

// appendPacked encodes rs after b: the record count, then the records.
func appendPacked(b []byte, rs []Record) []byte {
	b = slices.Grow(b, packedSize(rs)+binary.MaxVarintLen64)
	b = binary.AppendUvarint(b, uint64(len(rs)))
	return appendRecords(b, rs)
}

// packedSize is about how many bytes appendRecords takes for rs, a little
// more rather than less.
func packedSize(rs []Record) int {
	size := 0
	for i := range rs {
		size += 48 + len(rs[i].Topic) + len(rs[i].Key) + len(rs[i].Value) + len(rs[i].SourcePartition) + len(rs[i].SourceOffset)
		for _, h := range rs[i].Headers {
			size += 16 + len(h.Key) + len(h.Value)
		}
	}
	return size
}

// appendRecords encodes rs after b without their count, for a frame that
// counts its records itself.
func appendRecords(b []byte, rs []Record) []byte {
	b = slices.Grow(b, packedSize(rs))
	for i := range rs {
		r := &rs[i]
		var flags byte
		if i > 0 {
			prev := &rs[i-1]
			if r.Topic == prev.Topic {
				flags |= flagSameTopic
			}
			if r.SourcePartition != nil && prev.SourcePartition != nil && string(r.SourcePartition) == string(prev.SourcePartition) {
				flags |= flagSamePartition
			}
			if r.TimestampMs == prev.TimestampMs {
				flags |= flagSameTimestamp
			}
		}
		if r.Key == nil {
			flags |= flagKeyNull
		}
		if r.Value == nil {
			flags |= flagValueNull
		}
		if r.Err != nil {
			flags |= flagErr
			if r.Err.Retriable || r.Err.Record != "" {
				flags |= flagErrDetail
			}
		}
		if r.Dropped {
			flags |= flagDropped
		}
		if r.Txn != TxnNone {
			ext := byte(r.Txn) << 2
			if flags&flagDropped != 0 {
				ext |= 1
			}
			if flags&flagErr != 0 {
				ext |= 2
			}
			b = append(b, flags|flagDropped|flagErr, ext)
		} else {
			b = append(b, flags)
		}
		if flags&flagSameTopic == 0 {
			b = appendString(b, r.Topic)
		}
		b = binary.AppendVarint(b, int64(r.Partition))
		if r.Key != nil {
			b = appendBytes(b, r.Key)
		}
		if r.Value != nil {
			b = appendBytes(b, r.Value)
		}
		if flags&flagSameTimestamp == 0 {
			b = binary.AppendVarint(b, r.TimestampMs)
		}
		b = binary.AppendVarint(b, r.Offset)
		if flags&flagSamePartition == 0 {
			b = appendBytes(b, r.SourcePartition)
		}
		b = appendBytes(b, r.SourceOffset)
		b = binary.AppendUvarint(b, uint64(len(r.Headers)))
		for _, h := range r.Headers {
			b = appendString(b, h.Key)
			if h.Value == nil {
				b = append(b, 1)
			} else {
				b = append(b, 0)
				b = appendBytes(b, h.Value)
			}
		}
		if r.Err != nil {
			for _, s := range []string{r.Err.Stage, r.Err.ClassName, r.Err.ExceptionClass, r.Err.Message, r.Err.Trace} {
				b = appendString(b, s)
			}
			if flags&flagErrDetail != 0 {
				var retriable byte
				if r.Err.Retriable {
					retriable = 1
				}
				b = append(b, retriable)
				b = appendString(b, r.Err.Record)
			}
		}
	}
	return b
}

var errShort = errors.New("plugin: truncated record batch")

type unpacker struct {
	b   []byte
	err error
}

func (u *unpacker) uvarint() uint64 {
	if u.err != nil {
		return 0
	}
	v, n := binary.Uvarint(u.b)
	if n <= 0 {
		u.err = errShort
		return 0
	}
	u.b = u.b[n:]
	return v
}

func (u *unpacker) varint() int64 {
	if u.err != nil {
		return 0
	}
	v, n := binary.Varint(u.b)
	if n <= 0 {
		u.err = errShort
		return 0
	}
	u.b = u.b[n:]
	return v
}

func (u *unpacker) byte() byte {
	if u.err != nil || len(u.b) == 0 {
		u.err = errShort
		return 0
	}
	c := u.b[0]
	u.b = u.b[1:]
	return c
}

// bytes returns the next length-prefixed slice, sharing the buffer; a
// zero length gives an empty, non-nil slice when keepEmpty.
func (u *unpacker) bytes(keepEmpty bool) []byte {
	n := u.uvarint()
	if u.err != nil {
		return nil
	}
	if n > uint64(len(u.b)) {
		u.err = errShort
		return nil
	}
	if n == 0 && !keepEmpty {
		return nil
	}
	v := u.b[:n:n]
	u.b = u.b[n:]
	return v
}

// unpackRecords decodes what packRecords wrote. Keys, values and headers
// alias b. Topic strings repeat, so equal consecutive topics share one
// string.
func unpackRecords(b []byte) ([]Record, error) {
	u := &unpacker{b: b}
	n := u.uvarint()
	if u.err != nil {
		return nil, u.err
	}
	return decodeRecords(u.b, n, nil)
}

// decodeRecords decodes n records that appendRecords wrote as all of b,
// into out's storage when it has room. Keys, values and headers alias b.
func decodeRecords(b []byte, n uint64, out []Record) ([]Record, error) {
	if n > uint64(len(b)) { // every record takes at least one byte
		return nil, fmt.Errorf("plugin: record batch claims %d records in %d bytes", n, len(b))
	}
	if out != nil && uint64(cap(out)) >= n {
		out = out[:n]
		clear(out)
	} else {
		out = make([]Record, n)
	}
	// The fields every record has are read inline, a one-byte varint (the
	// usual, but for timestamps) without a call; headers and errors, which
	// few records have, by an unpacker.
	p := 0
	lastTopic := ""
	var lastTimestamp int64
	var lastPartition []byte
	var t []byte
	var u64 uint64
	var nh uint64
	for i := range out {
		r := &out[i]
		if uint(p) >= uint(len(b)) {
			return nil, errShort
		}
		flags := b[p]
		p++
		hasErr := flags&flagErr != 0
		if flags&(flagDropped|flagErr) == flagDropped|flagErr {
			if uint(p) >= uint(len(b)) {
				return nil, errShort
			}
			ext := b[p]
			p++
			r.Dropped, hasErr, r.Txn = ext&1 != 0, ext&2 != 0, TxnRequest(ext>>2)
		} else {
			r.Dropped = flags&flagDropped != 0
		}
		if flags&flagSameTopic == 0 {
			if t, p = bytesAt(b, p, true); p < 0 {
				return nil, errShort
			}
			if string(t) != lastTopic {
				lastTopic = string(t)
			}
		}
		r.Topic = lastTopic
		if uint(p) < uint(len(b)) && b[p] < 0x80 {
			u64, p = uint64(b[p]), p+1
		} else {
			u64, p = uvarintAt(b, p)
		}
		r.Partition = int32(unzigzag(u64))
		if flags&flagKeyNull == 0 {
			r.Key, p = bytesAt(b, p, true)
		}
		if flags&flagValueNull == 0 {
			r.Value, p = bytesAt(b, p, true)
		}
		if flags&flagSameTimestamp == 0 {
			u64, p = uvarintAt(b, p)
			lastTimestamp = unzigzag(u64)
		}
		r.TimestampMs = lastTimestamp
		if uint(p) < uint(len(b)) && b[p] < 0x80 {
			u64, p = uint64(b[p]), p+1
		} else {
			u64, p = uvarintAt(b, p)
		}
		r.Offset = unzigzag(u64)
		if flags&flagSamePartition == 0 {
			lastPartition, p = bytesAt(b, p, false)
		}
		r.SourcePartition = lastPartition
		r.SourceOffset, p = bytesAt(b, p, false)
		if uint(p) < uint(len(b)) && b[p] < 0x80 {
			nh, p = uint64(b[p]), p+1
		} else if nh, p = uvarintAt(b, p); p < 0 {
			return nil, errShort
		}
		if nh == 0 && !hasErr {
			continue
		}
		u := &unpacker{b: b[p:]}
		if nh > uint64(len(u.b)) {
			return nil, errShort
		}
		if nh > 0 {
			r.Headers = make([]Header, nh)
			for j := range r.Headers {
				r.Headers[j].Key = string(u.bytes(true))
				if u.byte() == 0 {
					r.Headers[j].Value = u.bytes(true)
				}
			}
		}
		if hasErr {
			r.Err = &RecordError{
				Stage: string(u.bytes(true)), ClassName: string(u.bytes(true)), ExceptionClass: string(u.bytes(true)),
				Message: string(u.bytes(true)), Trace: string(u.bytes(true)),
			}
			if flags&flagErrDetail != 0 {
				r.Err.Retriable = u.byte() == 1
				r.Err.Record = string(u.bytes(true))
			}
		}
		if u.err != nil {
			return nil, u.err
		}
		p = len(b) - len(u.b)
	}
	if p != len(b) {
		return nil, fmt.Errorf("plugin: %d bytes after the last record of a batch", len(b)-p)
	}
	return out, nil
}

// uvarintAt decodes the uvarint at b[p:] and returns it with the position
// after it; the position is -1 when b holds none there (or p is -1).
func uvarintAt(b []byte, p int) (uint64, int) {
	if p < 0 || p >= len(b) {
		return 0, -1
	}
	v, n := binary.Uvarint(b[p:])
	if n <= 0 {
		return 0, -1
	}
	return v, p + n
}

// unzigzag turns a uvarint into the varint it encodes.
func unzigzag(u uint64) int64 {
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

// bytesAt returns the length-prefixed slice at b[p:], sharing b, and the
// position after it (-1 as uvarintAt). A zero length gives an empty,
// non-nil slice when keepEmpty, else nil.
func bytesAt(b []byte, p int, keepEmpty bool) ([]byte, int) {
	var n uint64
	if uint(p) < uint(len(b)) && b[p] < 0x80 {
		n, p = uint64(b[p]), p+1
	} else if n, p = uvarintAt(b, p); p < 0 {
		return nil, -1
	}
	if n > uint64(len(b)-p) {
		return nil, -1
	}
	if n == 0 && !keepEmpty {
		return nil, p
	}
	end := p + int(n)
	return b[p:end:end], end
}
