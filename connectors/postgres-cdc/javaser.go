package postgrescdc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/connectd/connectd/framework/connect/javaser"
)

// Debezium keeps an incremental snapshot's chunk position in its offsets as
// the hex of a Java-serialized Object[] of the key's column values
// (java.io.ObjectOutputStream). These functions write and read that form
// for the values a key holds here: java.lang.Short, Integer, Long, Boolean
// and String, and null. The format is the Java Object Serialization
// Stream Protocol, version 5; package javaser reads its framing.

// A boxed class: its name, serialVersionUID, value field type code, and
// whether it extends java.lang.Number.
type jsBoxed struct {
	name   string
	uid    uint64
	code   byte
	number bool
}

var (
	jsShort   = jsBoxed{"java.lang.Short", 0x684D37133460DA52, 'S', true}
	jsInteger = jsBoxed{"java.lang.Integer", 0x12E2A0A4F7818738, 'I', true}
	jsLong    = jsBoxed{"java.lang.Long", 0x3B8BE490CC8F23DF, 'J', true}
	jsBoolean = jsBoxed{"java.lang.Boolean", 0xCD207280D59CFAEE, 'Z', false}
)

const (
	jsObjectArrayName = "[Ljava.lang.Object;"
	jsObjectArrayUID  = 0x90CE589F1073296C
	jsNumberName      = "java.lang.Number"
	jsNumberUID       = 0x86AC951D0B94E08B
)

// javaWriter writes one serialization stream, sharing class descriptors
// through back references as ObjectOutputStream does.
type javaWriter struct {
	buf     bytes.Buffer
	next    uint32
	handles map[string]uint32 // class name → handle of its descriptor
}

func (w *javaWriter) u16(v uint16) { w.buf.Write(binary.BigEndian.AppendUint16(nil, v)) }
func (w *javaWriter) u32(v uint32) { w.buf.Write(binary.BigEndian.AppendUint32(nil, v)) }
func (w *javaWriter) u64(v uint64) { w.buf.Write(binary.BigEndian.AppendUint64(nil, v)) }
func (w *javaWriter) utf(s string) { w.u16(uint16(len(s))); w.buf.WriteString(s) }

func (w *javaWriter) handle() uint32 {
	h := javaser.BaseHandle + w.next
	w.next++
	return h
}

// classDesc writes a descriptor, or a reference to the one written before.
// fields lists (type code, name) pairs of primitive fields.
func (w *javaWriter) classDesc(name string, uid uint64, fields [][2]string, super func()) {
	if h, ok := w.handles[name]; ok {
		w.buf.WriteByte(javaser.TCReference)
		w.u32(h)
		return
	}
	w.buf.WriteByte(javaser.TCClassDesc)
	w.utf(name)
	w.u64(uid)
	w.handles[name] = w.handle()
	w.buf.WriteByte(javaser.SCSerializable)
	w.u16(uint16(len(fields)))
	for _, f := range fields {
		w.buf.WriteByte(f[0][0])
		w.utf(f[1])
	}
	w.buf.WriteByte(javaser.TCEndBlock)
	if super == nil {
		w.buf.WriteByte(javaser.TCNull)
	} else {
		super()
	}
}

func (w *javaWriter) boxed(b jsBoxed) {
	w.buf.WriteByte(javaser.TCObject)
	var super func()
	if b.number {
		super = func() { w.classDesc(jsNumberName, jsNumberUID, nil, nil) }
	}
	w.classDesc(b.name, b.uid, [][2]string{{string(b.code), "value"}}, super)
	w.handle()
}

func (w *javaWriter) value(v any) error {
	switch x := v.(type) {
	case nil:
		w.buf.WriteByte(javaser.TCNull)
	case int16:
		w.boxed(jsShort)
		w.u16(uint16(x))
	case int32:
		w.boxed(jsInteger)
		w.u32(uint32(x))
	case int64:
		w.boxed(jsLong)
		w.u64(uint64(x))
	case bool:
		w.boxed(jsBoolean)
		if x {
			w.buf.WriteByte(1)
		} else {
			w.buf.WriteByte(0)
		}
	case string:
		m := javaser.EncodeModifiedUTF8(x)
		if len(m) <= 0xFFFF {
			w.buf.WriteByte(javaser.TCString)
			w.u16(uint16(len(m)))
		} else {
			w.buf.WriteByte(javaser.TCLongString)
			w.u64(uint64(len(m)))
		}
		w.handle()
		w.buf.Write(m)
	default:
		return fmt.Errorf("no Java form for %T", v)
	}
	return nil
}

// encodeJavaArray serializes vals as a Java Object[]; a nil slice becomes a
// null reference, as Debezium writes a key not yet known.
func encodeJavaArray(vals []any) ([]byte, error) {
	w := &javaWriter{handles: map[string]uint32{}}
	w.u16(javaser.Magic)
	w.u16(javaser.Version)
	if vals == nil {
		w.buf.WriteByte(javaser.TCNull)
		return w.buf.Bytes(), nil
	}
	w.buf.WriteByte(javaser.TCArray)
	w.classDesc(jsObjectArrayName, jsObjectArrayUID, nil, nil)
	w.handle()
	w.u32(uint32(len(vals)))
	for _, v := range vals {
		if err := w.value(v); err != nil {
			return nil, err
		}
	}
	return w.buf.Bytes(), nil
}

// javaReader reads the subset of the protocol encodeJavaArray writes,
// whoever wrote it (Debezium's JVM writes the same bytes).
type javaReader struct {
	*javaser.Reader
}

func (r *javaReader) value() (any, error) {
	tc, err := r.U8()
	if err != nil {
		return nil, err
	}
	switch tc {
	case javaser.TCNull:
		return nil, nil
	case javaser.TCReference:
		return r.Ref()
	case javaser.TCString, javaser.TCLongString:
		var n uint64
		if tc == javaser.TCString {
			v, err := r.U16()
			if err != nil {
				return nil, err
			}
			n = uint64(v)
		} else if n, err = r.U64(); err != nil {
			return nil, err
		}
		if n > uint64(r.Len()) {
			return nil, javaser.ErrTruncated
		}
		b, _ := r.Take(int(n))
		s, err := javaser.DecodeModifiedUTF8(b)
		if err != nil {
			return nil, err
		}
		r.NewHandle(s)
		return s, nil
	case javaser.TCObject:
		d, err := r.ClassDesc()
		if err != nil {
			return nil, err
		}
		if d == nil {
			return nil, errors.New("object without a class")
		}
		idx := r.NewHandle(nil)
		// Class data from the top superclass down.
		var chain []*javaser.Class
		for c := d; c != nil; c = c.Super {
			if len(chain) == 8 {
				return nil, errors.New("class hierarchy too deep (or circular)")
			}
			chain = append([]*javaser.Class{c}, chain...)
		}
		var v any
		for _, c := range chain {
			for _, code := range c.Fields {
				if v, err = r.prim(code); err != nil {
					return nil, err
				}
			}
		}
		switch d.Name {
		case jsShort.name, jsInteger.name, jsLong.name, jsBoolean.name:
		default:
			return nil, fmt.Errorf("class %s is not one this reader takes", d.Name)
		}
		r.SetHandle(idx, v)
		return v, nil
	case javaser.TCArray:
		d, err := r.ClassDesc()
		if err != nil {
			return nil, err
		}
		if d == nil || d.Name != jsObjectArrayName {
			return nil, errors.New("array is not an Object[]")
		}
		idx := r.NewHandle(nil)
		n, err := r.U32()
		if err != nil {
			return nil, err
		}
		if int64(n) > int64(r.Len()) {
			return nil, javaser.ErrTruncated
		}
		out := make([]any, 0, n)
		for range n {
			v, err := r.value()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		r.SetHandle(idx, out)
		return out, nil
	}
	return nil, fmt.Errorf("unexpected type code %#x", tc)
}

func (r *javaReader) prim(code byte) (any, error) {
	switch code {
	case 'Z':
		b, err := r.U8()
		return b != 0, err
	case 'S':
		v, err := r.U16()
		return int16(v), err
	case 'I':
		v, err := r.U32()
		return int32(v), err
	case 'J':
		v, err := r.U64()
		return int64(v), err
	}
	return nil, fmt.Errorf("field type %q is not one this reader takes", code)
}

// decodeJavaArray reads what encodeJavaArray wrote: nil for a null
// reference.
func decodeJavaArray(b []byte) ([]any, error) {
	jr, err := javaser.NewReader(b)
	if err != nil {
		return nil, err
	}
	v, err := (&javaReader{jr}).value()
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("holds a %T, not an Object[]", v)
	}
	return arr, nil
}
