package connect

import (
	"encoding/json"
	"fmt"
	"math"
)

// OffsetInt64 reads an integer from a stored source offset. The framework
// hands integral JSON numbers back as int64, but offsets written by other
// tools (or by Kafka Connect) may come back as float64 or json.Number;
// this accepts every form that holds an exact integer.
func OffsetInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return 0, fmt.Errorf("%d overflows int64", x)
		}
		return int64(x), nil
	case float64:
		if x != math.Trunc(x) || math.Abs(x) >= 1<<63 {
			return 0, fmt.Errorf("%v is not an integer", x)
		}
		return int64(x), nil
	case json.Number:
		return x.Int64()
	}
	return 0, fmt.Errorf("unexpected type %T", v)
}
