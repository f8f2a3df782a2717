package postgrescdc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Debezium keeps an incremental snapshot's chunk position in its offsets as
// the hex of a Java-serialized Object[] of the key's column values
// (java.io.ObjectOutputStream). These functions write and read that form
// for the values a key holds here: java.lang.Short, Integer, Long, Boolean
// and String, and null. The format is the Java Object Serialization
// Stream Protocol, version 5.

// Stream protocol constants.
const (
	jsMagic     = 0xACED
	jsVersion   = 5
	jsNull      = 0x70
	jsReference = 0x71
	jsClassDesc = 0x72
	jsObject    = 0x73
	jsString    = 0x74
	jsArray     = 0x75
	jsEndBlock  = 0x78
	jsLongStr   = 0x7C
	jsBaseWire  = 0x7E0000
	jsSerial    = 0x02
)

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
	h := jsBaseWire + w.next
	w.next++
	return h
}

// classDesc writes a descriptor, or a reference to the one written before.
// fields lists (type code, name) pairs of primitive fields.
func (w *javaWriter) classDesc(name string, uid uint64, fields [][2]string, super func()) {
	if h, ok := w.handles[name]; ok {
		w.buf.WriteByte(jsReference)
		w.u32(h)
		return
	}
	w.buf.WriteByte(jsClassDesc)
	w.utf(name)
	w.u64(uid)
	w.handles[name] = w.handle()
	w.buf.WriteByte(jsSerial)
	w.u16(uint16(len(fields)))
	for _, f := range fields {
		w.buf.WriteByte(f[0][0])
		w.utf(f[1])
	}
	w.buf.WriteByte(jsEndBlock)
	if super == nil {
		w.buf.WriteByte(jsNull)
	} else {
		super()
	}
}

func (w *javaWriter) boxed(b jsBoxed) {
	w.buf.WriteByte(jsObject)
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
		w.buf.WriteByte(jsNull)
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
		m := javaModifiedUTF8(x)
		if len(m) <= 0xFFFF {
			w.buf.WriteByte(jsString)
			w.u16(uint16(len(m)))
		} else {
			w.buf.WriteByte(jsLongStr)
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
	w.u16(jsMagic)
	w.u16(jsVersion)
	if vals == nil {
		w.buf.WriteByte(jsNull)
		return w.buf.Bytes(), nil
	}
	w.buf.WriteByte(jsArray)
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

// javaModifiedUTF8 encodes s as DataOutput.writeUTF does: NUL as two bytes
// and characters beyond the BMP as surrogate pairs of three bytes each.
func javaModifiedUTF8(s string) []byte {
	var out []byte
	for _, r := range s {
		switch {
		case r != 0 && r < 0x80:
			out = append(out, byte(r))
		case r < 0x800:
			out = append(out, 0xC0|byte(r>>6), 0x80|byte(r&0x3F))
		case r < 0x10000:
			out = append(out, 0xE0|byte(r>>12), 0x80|byte(r>>6&0x3F), 0x80|byte(r&0x3F))
		default:
			r -= 0x10000
			for _, u := range []rune{0xD800 + r>>10, 0xDC00 + r&0x3FF} {
				out = append(out, 0xE0|byte(u>>12), 0x80|byte(u>>6&0x3F), 0x80|byte(u&0x3F))
			}
		}
	}
	return out
}

func javaDecodeModifiedUTF8(b []byte) (string, error) {
	var rs []rune
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c < 0x80:
			rs = append(rs, rune(c))
			i++
		case c&0xE0 == 0xC0 && i+1 < len(b):
			rs = append(rs, rune(c&0x1F)<<6|rune(b[i+1]&0x3F))
			i += 2
		case c&0xF0 == 0xE0 && i+2 < len(b):
			rs = append(rs, rune(c&0x0F)<<12|rune(b[i+1]&0x3F)<<6|rune(b[i+2]&0x3F))
			i += 3
		default:
			return "", errors.New("bad modified UTF-8")
		}
	}
	// Join surrogate pairs.
	var sb []byte
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r >= 0xD800 && r < 0xDC00 && i+1 < len(rs) && rs[i+1] >= 0xDC00 && rs[i+1] < 0xE000 {
			r = 0x10000 + (r-0xD800)<<10 + (rs[i+1] - 0xDC00)
			i++
		}
		sb = utf8.AppendRune(sb, r)
	}
	return string(sb), nil
}

// javaReader reads the subset of the protocol encodeJavaArray writes,
// whoever wrote it (Debezium's JVM writes the same bytes).
type javaReader struct {
	b       []byte
	handles []any // by handle - jsBaseWire: *jsDesc or values
}

type jsDesc struct {
	name   string
	fields []byte // type codes of primitive fields
	super  *jsDesc
}

var errJavaShort = errors.New("truncated Java serialization stream")

func (r *javaReader) take(n int) ([]byte, error) {
	if len(r.b) < n {
		return nil, errJavaShort
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out, nil
}

func (r *javaReader) u8() (byte, error) {
	b, err := r.take(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (r *javaReader) u16() (uint16, error) {
	b, err := r.take(2)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint16(b), nil
}

func (r *javaReader) u32() (uint32, error) {
	b, err := r.take(4)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b), nil
}

func (r *javaReader) utf() (string, error) {
	n, err := r.u16()
	if err != nil {
		return "", err
	}
	b, err := r.take(int(n))
	if err != nil {
		return "", err
	}
	return javaDecodeModifiedUTF8(b)
}

func (r *javaReader) ref() (any, error) {
	h, err := r.u32()
	if err != nil {
		return nil, err
	}
	i := int(h) - jsBaseWire
	if i < 0 || i >= len(r.handles) {
		return nil, fmt.Errorf("reference to unknown handle %#x", h)
	}
	return r.handles[i], nil
}

func (r *javaReader) desc() (*jsDesc, error) {
	tc, err := r.u8()
	if err != nil {
		return nil, err
	}
	switch tc {
	case jsNull:
		return nil, nil
	case jsReference:
		v, err := r.ref()
		if err != nil {
			return nil, err
		}
		d, ok := v.(*jsDesc)
		if !ok {
			return nil, errors.New("reference is not a class descriptor")
		}
		return d, nil
	case jsClassDesc:
	default:
		return nil, fmt.Errorf("unexpected type code %#x where a class descriptor belongs", tc)
	}
	d := &jsDesc{}
	if d.name, err = r.utf(); err != nil {
		return nil, err
	}
	if _, err := r.take(8); err != nil { // serialVersionUID
		return nil, err
	}
	r.handles = append(r.handles, d)
	if _, err := r.u8(); err != nil { // flags
		return nil, err
	}
	n, err := r.u16()
	if err != nil {
		return nil, err
	}
	for range n {
		code, err := r.u8()
		if err != nil {
			return nil, err
		}
		if _, err := r.utf(); err != nil {
			return nil, err
		}
		if code == 'L' || code == '[' {
			return nil, fmt.Errorf("class %s has object fields, which this reader does not take", d.name)
		}
		d.fields = append(d.fields, code)
	}
	if tc, err := r.u8(); err != nil || tc != jsEndBlock {
		return nil, fmt.Errorf("class %s has annotations, which this reader does not take", d.name)
	}
	if d.super, err = r.desc(); err != nil {
		return nil, err
	}
	return d, nil
}

func (r *javaReader) value() (any, error) {
	tc, err := r.u8()
	if err != nil {
		return nil, err
	}
	switch tc {
	case jsNull:
		return nil, nil
	case jsReference:
		return r.ref()
	case jsString, jsLongStr:
		var n uint64
		if tc == jsString {
			v, err := r.u16()
			n = uint64(v)
			if err != nil {
				return nil, err
			}
		} else {
			b, err := r.take(8)
			if err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b)
		}
		if n > uint64(len(r.b)) {
			return nil, errJavaShort
		}
		b, _ := r.take(int(n))
		s, err := javaDecodeModifiedUTF8(b)
		if err != nil {
			return nil, err
		}
		r.handles = append(r.handles, s)
		return s, nil
	case jsObject:
		d, err := r.desc()
		if err != nil {
			return nil, err
		}
		if d == nil {
			return nil, errors.New("object without a class")
		}
		idx := len(r.handles)
		r.handles = append(r.handles, nil)
		// Class data from the top superclass down.
		var chain []*jsDesc
		for c := d; c != nil; c = c.super {
			if len(chain) == 8 {
				return nil, errors.New("class hierarchy too deep (or circular)")
			}
			chain = append([]*jsDesc{c}, chain...)
		}
		var v any
		for _, c := range chain {
			for _, code := range c.fields {
				if v, err = r.prim(code); err != nil {
					return nil, err
				}
			}
		}
		switch d.name {
		case jsShort.name, jsInteger.name, jsLong.name, jsBoolean.name:
		default:
			return nil, fmt.Errorf("class %s is not one this reader takes", d.name)
		}
		r.handles[idx] = v
		return v, nil
	case jsArray:
		d, err := r.desc()
		if err != nil {
			return nil, err
		}
		if d == nil || d.name != jsObjectArrayName {
			return nil, errors.New("array is not an Object[]")
		}
		idx := len(r.handles)
		r.handles = append(r.handles, nil)
		n, err := r.u32()
		if err != nil {
			return nil, err
		}
		if int(n) > len(r.b) {
			return nil, errJavaShort
		}
		out := make([]any, 0, n)
		for range n {
			v, err := r.value()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		r.handles[idx] = out
		return out, nil
	}
	return nil, fmt.Errorf("unexpected type code %#x", tc)
}

func (r *javaReader) prim(code byte) (any, error) {
	switch code {
	case 'Z':
		b, err := r.u8()
		return b != 0, err
	case 'S':
		v, err := r.u16()
		return int16(v), err
	case 'I':
		v, err := r.u32()
		return int32(v), err
	case 'J':
		b, err := r.take(8)
		if err != nil {
			return nil, err
		}
		return int64(binary.BigEndian.Uint64(b)), nil
	}
	return nil, fmt.Errorf("field type %q is not one this reader takes", code)
}

// decodeJavaArray reads what encodeJavaArray wrote: nil for a null
// reference.
func decodeJavaArray(b []byte) ([]any, error) {
	r := &javaReader{b: b}
	magic, err := r.u16()
	if err != nil {
		return nil, err
	}
	ver, err := r.u16()
	if err != nil {
		return nil, err
	}
	if magic != jsMagic || ver != jsVersion {
		return nil, errors.New("not a Java serialization stream")
	}
	v, err := r.value()
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
