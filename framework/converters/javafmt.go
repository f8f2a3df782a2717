package converters

import (
	"math/big"
	"strconv"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/internal/javajson"
)

// appendJavaFloat appends f as Java's Double.toString (bitSize 64) or
// Float.toString (bitSize 32) writes it (see javajson.AppendFloat).
func appendJavaFloat(dst []byte, f float64, bitSize int) []byte {
	return javajson.AppendFloat(dst, f, bitSize)
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
