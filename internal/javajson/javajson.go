// Package javajson writes JSON text the way the JVM's libraries write it,
// so that what connectd writes compares equal, byte for byte, with what
// Kafka Connect and Confluent's serializers write: strings escaped as
// Jackson escapes them, and floating-point numbers in the form of Java's
// Double.toString and Float.toString.
package javajson

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendFloat appends f as Java's Double.toString (bitSize 64) or
// Float.toString (bitSize 32) writes it, which is what Kafka Connect's JSON
// converter and Values produce: "1.0", "12.34", "1.0E7", "1.0E-4", "NaN",
// "Infinity". The digits are those of the JDK 19+ algorithm: the shortest
// decimal that rounds to f, except that a one-digit decimal gives way to a
// closer two-digit one (so the smallest double is "4.9E-324", not "5.0E-324").
func AppendFloat(dst []byte, f float64, bitSize int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	var scratch [40]byte
	digits, exp := floatDigits(scratch[:0], f, -1, bitSize)
	if len(digits) == 1 {
		var scratch2 [40]byte
		if d2, e2 := floatDigits(scratch2[:0], f, 1, bitSize); d2[1] != '0' {
			digits, exp = d2, e2
		}
	}
	if f < 0 {
		dst = append(dst, '-')
	}
	// digits is d1 d2 ... dn and f = d1.d2...dn × 10^exp.
	if abs := math.Abs(f); abs >= 1e-3 && abs < 1e7 {
		if exp < 0 {
			dst = append(dst, '0', '.')
			for i := exp + 1; i < 0; i++ {
				dst = append(dst, '0')
			}
			return append(dst, digits...)
		}
		if len(digits) > exp+1 {
			dst = append(dst, digits[:exp+1]...)
			dst = append(dst, '.')
			return append(dst, digits[exp+1:]...)
		}
		dst = append(dst, digits...)
		for i := len(digits); i < exp+1; i++ {
			dst = append(dst, '0')
		}
		return append(dst, '.', '0')
	}
	dst = append(dst, digits[0], '.')
	if len(digits) > 1 {
		dst = append(dst, digits[1:]...)
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, 'E')
	return strconv.AppendInt(dst, int64(exp), 10)
}

// floatDigits returns the significant digits of |f| (prec -1: shortest; else
// prec+1 digits, correctly rounded) and the decimal exponent of the first.
func floatDigits(buf []byte, f float64, prec, bitSize int) ([]byte, int) {
	b := strconv.AppendFloat(buf, math.Abs(f), 'e', prec, bitSize) // d.ddde±xx
	e := len(b) - 1
	for b[e] != 'e' {
		e--
	}
	exp, _ := strconv.Atoi(string(b[e+1:]))
	digits := b[:e]
	if len(digits) > 1 { // drop the point
		digits = append(digits[:1], digits[2:]...)
	}
	return digits, exp
}

const hexDigits = "0123456789ABCDEF"

// AppendString appends s as a JSON string, escaping as Jackson does: the
// short forms \" \\ \b \f \n \r \t, \u00XX for other control characters,
// everything else as UTF-8. Invalid UTF-8 becomes U+FFFD. It skips eight
// bytes at a time while none needs a look (see plain8), and works on a
// local slice: the encoder lives on the heap, where every store of its
// buffer's pointer costs a write barrier while the collector marks.
func AppendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		for i+8 <= len(s) && plain8(s[i:i+8]) {
			i += 8
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// Bytes repeated in every byte of a word, for plain8.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plain8 reports whether the 8 bytes of b are all printable ASCII other
// than '"' and '\\': bytes a JSON string holds as they are. It tests the
// eight at once on a 64-bit word: a byte below 0x20 (w - 0x20…), a byte
// equal to '"' or '\\' (a zero byte of w XOR that byte), or a byte with its
// high bit set each leave a high bit in the result.
func plain8(b string) bool {
	w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
	quote, backslash := w^(ones*'"'), w^(ones*'\\')
	return (w|(w-ones*0x20)&^w|(quote-ones)&^quote|(backslash-ones)&^backslash)&highs == 0
}
