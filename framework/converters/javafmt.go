package converters

import (
	"math"
	"math/big"
	"strconv"

	"github.com/connectd/connectd/framework/connect"
)

// appendJavaFloat appends f as Java's Double.toString (bitSize 64) or
// Float.toString (bitSize 32) writes it, which is what Kafka Connect's JSON
// converter and Values produce: "1.0", "12.34", "1.0E7", "1.0E-4", "NaN",
// "Infinity". The digits are those of the JDK 19+ algorithm: the shortest
// decimal that rounds to f, except that a one-digit decimal gives way to a
// closer two-digit one (so the smallest double is "4.9E-324", not "5.0E-324").
func appendJavaFloat(dst []byte, f float64, bitSize int) []byte {
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

// appendJavaDecimal appends d as Java's BigDecimal.toString writes it, which
// is how Kafka Connect writes a Decimal with decimal.format=NUMERIC and in
// Values: plain notation unless the scale is negative or the number is
// smaller than 1E-6, then scientific ("1E+3", "1.5E-7").
func appendJavaDecimal(dst []byte, d connect.Decimal) []byte {
	unscaled := d.Unscaled
	if unscaled == nil {
		unscaled = new(big.Int)
	}
	if unscaled.Sign() < 0 {
		dst = append(dst, '-')
	}
	start := len(dst)
	dst = new(big.Int).Abs(unscaled).Append(dst, 10)
	if d.Scale == 0 {
		return dst
	}
	n := len(dst) - start
	adjusted := int64(n-1) - int64(d.Scale)
	if d.Scale > 0 && adjusted >= -6 {
		scale := int(d.Scale)
		if n > scale {
			// Insert the point scale digits from the end.
			dst = append(dst, 0)
			copy(dst[len(dst)-scale:], dst[len(dst)-scale-1:])
			dst[len(dst)-scale-1] = '.'
			return dst
		}
		// 0.000ddd: shift the digits right by the zeros and "0.".
		pad := scale - n + 2
		for i := 0; i < pad; i++ {
			dst = append(dst, 0)
		}
		copy(dst[start+pad:], dst[start:start+n])
		dst[start], dst[start+1] = '0', '.'
		for i := start + 2; i < start+pad; i++ {
			dst[i] = '0'
		}
		return dst
	}
	if n > 1 {
		dst = append(dst, 0)
		copy(dst[start+2:], dst[start+1:])
		dst[start+1] = '.'
	}
	dst = append(dst, 'E')
	if adjusted >= 0 {
		dst = append(dst, '+')
	}
	return strconv.AppendInt(dst, adjusted, 10)
}
