package transforms

import (
	"strconv"
	"strings"
	"testing"

	"github.com/connectd/connectd/framework/connect"
)

func TestTimestampConverter(t *testing.T) {
	t.Parallel()
	const (
		datePlusTime   = int64(86401234) // 1970-01-02T00:00:01.234Z
		stringFmt      = "yyyy MM dd HH mm ss SSS z"
		datePlusTimeS  = "1970 01 02 00 00 01 234 UTC"
		datePlusTimeUs = datePlusTime*1000 + 123
		datePlusTimeNs = datePlusTimeUs*1000 + 456
	)
	ts := connect.TimestampSchema().Build()
	optTS := connect.TimestampSchema().Optional().Build()
	date := connect.DateSchema().Build()
	tm := connect.TimeSchema().Build()
	k := func(target string, kv ...string) map[string]string {
		m := map[string]string{"target.type": target}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	structS := connect.StructSchema().Field("ts", ts).Field("other", connect.StringSchema).Build()
	structOut := connect.StructSchema().Field("ts", connect.StringSchema).Field("other", connect.StringSchema).Build()
	runCases(t, map[string]applyCase{
		"schemaless timestamp to date":   {class: "TimestampConverter$Value", keys: k("Date"), in: rec(nil, nil, nil, ms(datePlusTime)), want: rec(nil, nil, nil, ms(86400000))},
		"schemaless timestamp to time":   {class: "TimestampConverter$Value", keys: k("Time"), in: rec(nil, nil, nil, ms(datePlusTime)), want: rec(nil, nil, nil, ms(1234))},
		"schemaless timestamp to unix":   {class: "TimestampConverter$Value", keys: k("unix"), in: rec(nil, nil, nil, ms(datePlusTime)), want: rec(nil, nil, nil, datePlusTime)},
		"schemaless timestamp to string": {class: "TimestampConverter$Value", keys: k("string", "format", stringFmt), in: rec(nil, nil, nil, ms(datePlusTime)), want: rec(nil, nil, nil, datePlusTimeS)},
		"schemaless unix to timestamp":   {class: "TimestampConverter$Value", keys: k("Timestamp"), in: rec(nil, nil, nil, datePlusTime), want: rec(nil, nil, nil, ms(datePlusTime))},
		"schemaless string to timestamp": {class: "TimestampConverter$Value", keys: k("Timestamp", "format", stringFmt), in: rec(nil, nil, nil, datePlusTimeS), want: rec(nil, nil, nil, ms(datePlusTime))},
		"schemaless null":                {class: "TimestampConverter$Value", keys: k("Timestamp"), in: rec(nil, nil, nil, nil), want: rec(nil, nil, nil, nil)},
		"schema timestamp to date":       {class: "TimestampConverter$Value", keys: k("Date"), in: rec(nil, nil, ts, ms(datePlusTime)), want: rec(nil, nil, date, ms(86400000))},
		"schema timestamp to time":       {class: "TimestampConverter$Value", keys: k("Time"), in: rec(nil, nil, ts, ms(datePlusTime)), want: rec(nil, nil, tm, ms(1234))},
		"schema optional null":           {class: "TimestampConverter$Value", keys: k("unix"), in: rec(nil, nil, optTS, nil), want: rec(nil, nil, connect.OptionalInt64, nil)},
		"schema date to timestamp":       {class: "TimestampConverter$Value", keys: k("Timestamp"), in: rec(nil, nil, date, ms(86400000)), want: rec(nil, nil, ts, ms(86400000))},
		"schema unix to string":          {class: "TimestampConverter$Key", keys: k("string", "format", stringFmt), in: rec(connect.Int64Schema, datePlusTime, nil, nil), want: rec(connect.StringSchema, datePlusTimeS, nil, nil)},
		"schema string to unix":          {class: "TimestampConverter$Value", keys: k("unix", "format", stringFmt), in: rec(nil, nil, connect.StringSchema, datePlusTimeS), want: rec(nil, nil, connect.Int64Schema, datePlusTime)},
		"unix seconds out":               {class: "TimestampConverter$Value", keys: k("unix", "unix.precision", "seconds"), in: rec(nil, nil, ts, ms(datePlusTime)), want: rec(nil, nil, connect.Int64Schema, int64(86401))},
		"unix micros out":                {class: "TimestampConverter$Value", keys: k("unix", "unix.precision", "microseconds"), in: rec(nil, nil, ts, ms(datePlusTime)), want: rec(nil, nil, connect.Int64Schema, datePlusTime*1000)},
		"unix nanos out":                 {class: "TimestampConverter$Value", keys: k("unix", "unix.precision", "nanoseconds"), in: rec(nil, nil, ts, ms(datePlusTime)), want: rec(nil, nil, connect.Int64Schema, datePlusTime*1000000)},
		"unix micros in":                 {class: "TimestampConverter$Value", keys: k("Timestamp", "unix.precision", "microseconds"), in: rec(nil, nil, nil, datePlusTimeUs), want: rec(nil, nil, nil, ms(datePlusTime))},
		"unix nanos in":                  {class: "TimestampConverter$Value", keys: k("Timestamp", "unix.precision", "nanoseconds"), in: rec(nil, nil, nil, datePlusTimeNs), want: rec(nil, nil, nil, ms(datePlusTime))},
		"unix seconds in":                {class: "TimestampConverter$Value", keys: k("Timestamp", "unix.precision", "seconds"), in: rec(nil, nil, nil, int64(86401)), want: rec(nil, nil, nil, ms(86401000))},
		"struct field": {class: "TimestampConverter$Value", keys: k("string", "field", "ts", "format", "yyyy-MM-dd"),
			in: rec(nil, nil, structS, st(structS, "ts", ms(datePlusTime), "other", "o")), want: rec(nil, nil, structOut, st(structOut, "ts", "1970-01-02", "other", "o"))},
		"struct null value": {class: "TimestampConverter$Value", keys: k("string", "field", "ts", "format", "yyyy"),
			in: rec(nil, nil, structS, nil), want: rec(nil, nil, structOut, nil)},
		"map field": {class: "TimestampConverter$Value", keys: k("unix", "field", "ts"),
			in: rec(nil, nil, nil, map[string]any{"ts": ms(datePlusTime), "o": "x"}), want: rec(nil, nil, nil, map[string]any{"ts": datePlusTime, "o": "x"})},
		"map missing field": {class: "TimestampConverter$Value", keys: k("unix", "field", "ts"),
			in: rec(nil, nil, nil, map[string]any{"o": "x"}), want: rec(nil, nil, nil, map[string]any{"ts": nil, "o": "x"})},
		"unparseable": {class: "TimestampConverter$Value", keys: k("unix", "format", "yyyy-MM-dd"),
			in: rec(nil, nil, nil, "nope"), wantErr: "Could not parse timestamp: value (nope) does not match pattern (yyyy-MM-dd)"},
		"unsupported": {class: "TimestampConverter$Value", keys: k("unix"),
			in: rec(nil, nil, nil, int32(1)), wantErr: "TimestampConverter does not support class java.lang.Integer objects as timestamps"},
		"schema not a timestamp": {class: "TimestampConverter$Value", keys: k("unix"),
			in: rec(nil, nil, connect.Int32Schema, int32(1)), wantErr: "Schema Schema{INT32} does not correspond to a known timestamp type format"},
	})
	for name, keys := range map[string]map[string]string{
		"no target":          {},
		"bad target":         {"target.type": "invalid"},
		"string, no format":  {"target.type": "string"},
		"bad format":         {"target.type": "string", "format": "bad-formatj"},
		"bad unix precision": {"target.type": "unix", "unix.precision": "minutes"},
	} {
		if errs := Validate(chainConfig("TimestampConverter$Value", keys)); len(errs) != 1 {
			t.Errorf("%s: Validate = %v, want one problem", name, errs)
		}
	}
}

func TestDateFormat(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		pattern string
		ms      int64
		text    string
	}{
		"default router": {"yyyyMMdd", 1483425001864, "20170103"},
		"full":           {"yyyy-MM-dd'T'HH:mm:ss.SSSZ", 1483425001864, "2017-01-03T06:30:01.864+0000"},
		"names":          {"EEEE, d MMMM yy h:mm a", 1483425001864, "Tuesday, 3 January 17 6:30 AM"},
		"iso zone":       {"yyyy-MM-dd HH:mm:ssXXX", 0, "1970-01-01 00:00:00Z"},
		"quotes":         {"'o''clock' HH", 3600000, "o'clock 01"},
		"day of year":    {"yyyy-DDD", 86400000 * 40, "1970-041"},
		"k and K":        {"k K", 0, "24 0"},
		"two-digit year": {"yy", 1483425001864, "17"},
	}
	for name, tc := range tests {
		f, err := compileDateFormat(tc.pattern)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := f.format(ms(tc.ms)); got != tc.text {
			t.Errorf("%s: format = %q, want %q", name, got, tc.text)
		}
		if name == "two-digit year" || name == "k and K" || name == "names" || name == "default router" {
			continue // these do not read back to the same instant
		}
		back, err := f.parse(tc.text)
		if err != nil || back.UnixMilli() != tc.ms {
			t.Errorf("%s: parse(%q) = %v, %v; want %d", name, tc.text, back, err, tc.ms)
		}
	}
	for _, bad := range []string{"yyyy-bb", "'unterminated"} {
		if _, err := compileDateFormat(bad); err == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
	f, _ := compileDateFormat("yyyy-MM-dd HH:mm")
	for text, want := range map[string]int64{
		"1970-01-02 00:00 and more": 86400000,    // trailing text is ignored
		"1970-13-01 00:00":          31536000000, // lenient: month 13 is January next year
		"1970-01-01 01:00":          3600000,
	} {
		got, err := f.parse(text)
		if err != nil || got.UnixMilli() != want {
			t.Errorf("parse(%q) = %v, %v; want %d", text, got, err, want)
		}
	}
	if _, err := f.parse("1970/01/01"); err == nil {
		t.Error("parse accepted a text that does not match")
	}
}

// TestAppendPadded checks the date formatter's digits against strconv.
func TestAppendPadded(t *testing.T) {
	t.Parallel()
	for _, v := range []int{0, 1, 9, 10, 99, 100, 999, 1000, 2017, 9999, 10000, 123456789, -1, -12, -2017} {
		for width := 0; width <= 6; width++ {
			digits := strconv.Itoa(v)
			sign := ""
			if v < 0 {
				sign, digits = "-", digits[1:]
			}
			want := sign + strings.Repeat("0", max(0, width-len(digits))) + digits
			if got := string(appendPadded([]byte("x"), v, width)); got != "x"+want {
				t.Errorf("appendPadded(%d, %d) = %q, want %q", v, width, got, "x"+want)
			}
		}
	}
}
