package transforms

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/connectd/connectd/framework/connect"
)

// Java's numeric conversions, which Cast and MaskField rely on.

// parseBigDecimal parses s as new java.math.BigDecimal(s) does: an optional
// sign, digits with an optional point, an optional exponent; no blanks.
func parseBigDecimal(s string) (connect.Decimal, bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	var digits strings.Builder
	digits.WriteString(s[:i])
	frac, n := 0, 0
	point := false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits.WriteByte(c)
			n++
			if point {
				frac++
			}
		case c == '.' && !point:
			point = true
		default:
			goto exp
		}
	}
exp:
	if n == 0 {
		return connect.Decimal{}, false
	}
	e := int64(0)
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return connect.Decimal{}, false
		}
		v, err := strconv.ParseInt(s[i+1:], 10, 32)
		if err != nil {
			return connect.Decimal{}, false
		}
		e = v
	}
	u, ok := new(big.Int).SetString(digits.String(), 10)
	if !ok {
		return connect.Decimal{}, false
	}
	scale := int64(frac) - e
	if scale > math.MaxInt32 || scale < math.MinInt32 {
		return connect.Decimal{}, false
	}
	return connect.Decimal{Unscaled: u, Scale: int32(scale)}, true
}

// decimalLong is BigDecimal.longValue: the fraction dropped, then the low
// 64 bits of the two's-complement integer.
func decimalLong(d connect.Decimal) int64 {
	if d.Unscaled == nil {
		return 0
	}
	n := new(big.Int).Set(d.Unscaled)
	switch {
	case d.Scale > 0:
		n.Quo(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale)), nil))
	case d.Scale < 0:
		if -int64(d.Scale) >= 64 {
			return 0 // a multiple of 10^64 = 2^64 * 5^64 has 64 zero low bits
		}
		n.Mul(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(-int64(d.Scale)), nil))
	}
	return bigLow64(n)
}

// bigLow64 returns the low 64 bits of n's two's-complement form.
func bigLow64(n *big.Int) int64 {
	mag := new(big.Int).Abs(n)
	lo := mag.Uint64() // low 64 bits of |n|
	if n.Sign() < 0 {
		return int64(-lo)
	}
	return int64(lo)
}

// decimalDouble is BigDecimal.doubleValue: the nearest double.
func decimalDouble(d connect.Decimal) float64 {
	if d.Unscaled == nil {
		return 0
	}
	f, _ := strconv.ParseFloat(d.Unscaled.String()+"e"+strconv.FormatInt(-int64(d.Scale), 10), 64)
	return f
}

// doubleToLong is Java's (long) cast of a double: NaN is 0, out-of-range
// values saturate.
func doubleToLong(f float64) int64 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// doubleToInt is Java's (int) cast of a double.
func doubleToInt(f float64) int32 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt32:
		return math.MaxInt32
	case f <= math.MinInt32:
		return math.MinInt32
	}
	return int32(f)
}
