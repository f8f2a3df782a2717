package converters

import (
	"math/big"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connectd/connectd/framework/connect"
)

// cmpOpts compare Connect schemas and values: schemas by their exported
// fields, structs by schema and slots, decimals by value, NaN equal to NaN.
var cmpOpts = cmp.Options{
	cmpopts.IgnoreUnexported(connect.Schema{}),
	cmp.AllowUnexported(connect.StructValue{}),
	cmp.Comparer(func(a, b *big.Int) bool {
		if a == nil || b == nil {
			return a == b
		}
		return a.Cmp(b) == 0
	}),
	cmpopts.EquateNaNs(),
}

func dec(unscaled int64, scale int32) connect.Decimal {
	return connect.Decimal{Unscaled: big.NewInt(unscaled), Scale: scale}
}

// mustJSON returns a JSON converter configured with cfg (key/value pairs).
func mustJSON(t testing.TB, cfg ...string) Converter {
	t.Helper()
	c, err := New("json")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for i := 0; i+1 < len(cfg); i += 2 {
		m[cfg[i]] = cfg[i+1]
	}
	if err := c.Configure(m, false); err != nil {
		t.Fatal(err)
	}
	return c
}
