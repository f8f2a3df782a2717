package postgrescdc

import "testing"

// The decoders read what the server sends: they must reject what they do
// not understand, never panic.

func FuzzParseTuple(f *testing.F) {
	f.Add([]byte{0, 2, 't', 0, 0, 0, 1, '7', 'n'})
	f.Add([]byte{0, 1, 'u'})
	f.Add([]byte{0, 3, 't', 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r row
		parseTuple(b, &r)
	})
}

func FuzzDecodeText(f *testing.F) {
	for _, s := range []string{"{1,NULL,\"a\\\"b\"}", "P1Y2M3DT4H5M6.5S", "2024-02-29 13:14:15.5+02", "13:14:15.25-03:30",
		"0044-03-15 BC", "\\x00ff", "$1,234.50", "-0.00125", "24:00:00", "{}", "[0:1]={1,2}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		decodeArray(b, ',', decodeString)
		decodeArray(b, ',', decodeInt32)
		decodeInterval(b)
		decodeTimestamptz(b, 6)
		decodeTimetz(b)
		decodeTimestampMicros(b)
		decodeDateDays(b)
		decodeTimeMicros(b)
		decodeBytea(b)
		decodeMoney(b)
		decodeDecimal(b, 2)
		decodeVarDecimal(varDecimalSchema, b)
		s2 := s
		defaultText(columnMeta{typname: "timestamptz", defaultExpr: &s2})
	})
}
