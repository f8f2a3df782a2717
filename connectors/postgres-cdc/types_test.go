package postgrescdc

import (
	"math"
	"math/big"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

// TestDecoders checks the text forms Postgres prints (with the session
// settings the connector sets) against values worked out by hand.
func TestDecoders(t *testing.T) {
	t.Parallel()
	dec := func(s string, scale int32) connect.Decimal {
		n, _ := new(big.Int).SetString(s, 10)
		return connect.Decimal{Unscaled: n, Scale: scale}
	}
	tests := map[string]struct {
		decode func([]byte) (any, error)
		in     string
		want   any
	}{
		"bool t":                        {decodeBool, "t", true},
		"int16 min":                     {decodeInt16, "-32768", int16(-32768)},
		"int64 beyond 2^53":             {decodeInt64, "9007199254740993", int64(9007199254740993)},
		"float NaN":                     {decodeFloat64, "NaN", math.NaN()},
		"float -Infinity":               {decodeFloat64, "-Infinity", math.Inf(-1)},
		"bytea hex":                     {decodeBytea, `\x00ff10`, []byte{0, 0xff, 0x10}},
		"bytea empty":                   {decodeBytea, `\x`, []byte{}},
		"decimal scale kept":            {func(b []byte) (any, error) { return decodeDecimal(b, 3) }, "-12.500", dec("-12500", 3)},
		"decimal NaN is null":           {func(b []byte) (any, error) { return decodeDecimal(b, 2) }, "NaN", nil},
		"date epoch":                    {func(b []byte) (any, error) { return decodeDateDays(b) }, "1970-01-01", int32(0)},
		"date leap":                     {func(b []byte) (any, error) { return decodeDateDays(b) }, "2024-02-29", int32(19782)},
		"date before epoch":             {func(b []byte) (any, error) { return decodeDateDays(b) }, "1969-12-31", int32(-1)},
		"date BC":                       {func(b []byte) (any, error) { return decodeDateDays(b) }, "0001-01-01 BC", int32(-719528)},
		"time micros":                   {func(b []byte) (any, error) { return decodeTimeMicros(b) }, "13:14:15.5", int64(47655500000)},
		"time 24:00":                    {func(b []byte) (any, error) { return decodeTimeMicros(b) }, "24:00:00", int64(86400000000)},
		"timestamp":                     {func(b []byte) (any, error) { return decodeTimestampMicros(b) }, "2000-01-01 00:00:00.000001", int64(946684800000001)},
		"timestamp pre-epoch":           {func(b []byte) (any, error) { return decodeTimestampMicros(b) }, "1969-12-31 23:59:59.999999", int64(-1)},
		"timestamptz to UTC":            {func(b []byte) (any, error) { return decodeTimestamptz(b, 6) }, "2024-02-29 01:00:00+02", "2024-02-28T23:00:00.000000Z"},
		"timestamptz p3":                {func(b []byte) (any, error) { return decodeTimestamptz(b, 3) }, "2024-01-01 00:00:00.1234+05:30", "2023-12-31T18:30:00.123Z"},
		"timestamptz p0":                {func(b []byte) (any, error) { return decodeTimestamptz(b, 0) }, "2024-01-01 00:00:00+00", "2024-01-01T00:00:00Z"},
		"timestamptz infinity":          {func(b []byte) (any, error) { return decodeTimestamptz(b, 6) }, "infinity", "infinity"},
		"timetz wraps":                  {decodeTimetz, "01:00:00+02", "23:00:00Z"},
		"timetz fraction":               {decodeTimetz, "12:00:00.120-01", "13:00:00.12Z"},
		"interval month":                {decodeInterval, "P1M", int64(2629800000000)},
		"interval negative":             {decodeInterval, "PT-1H-30M", int64(-5400000000)},
		"interval days":                 {decodeInterval, "P2DT0.000001S", int64(172800000001)},
		"money":                         {func(b []byte) (any, error) { return decodeMoney(b) }, "-$1,234.50", dec("-123450", 2)},
		"array ints":                    {func(b []byte) (any, error) { return decodeArray(b, ',', decodeInt32) }, "{1,NULL,-3}", []any{int32(1), nil, int32(-3)}},
		"array quoted":                  {func(b []byte) (any, error) { return decodeArray(b, ',', decodeString) }, `{"a b","c,d","NULL","x\"y",plain}`, []any{"a b", "c,d", "NULL", `x"y`, "plain"}},
		"array empty":                   {func(b []byte) (any, error) { return decodeArray(b, ',', decodeString) }, "{}", []any{}},
		"bits: last character is bit 0": {decodeBits, "101000000001", []byte{0x01, 0x0a}},
		"bits: as few bytes as needed":  {decodeBits, "0000000011", []byte{0x03}},
		"bits: all zero":                {decodeBits, "0000", []byte{}},
		"hstore json":                   {decodeHstoreJSON, `"a"=>"1", "b c"=>NULL, "q\"<>"=>"x,y"`, `{"a":"1","b c":null,"q\"<>":"x,y"}`},
		"hstore empty":                  {decodeHstoreJSON, ``, `{}`},
		"array 2-D":                     {func(b []byte) (any, error) { v, _, err := decodeArrayN(b, ',', decodeInt32); return v, err }, "{{1,2},{3,NULL}}", []any{[]any{int32(1), int32(2)}, []any{int32(3), nil}}},
		"array 3-D with bounds":         {func(b []byte) (any, error) { v, _, err := decodeArrayN(b, ',', decodeInt32); return v, err }, "[1:1][1:1][1:2]={{{1,2}}}", []any{[]any{[]any{int32(1), int32(2)}}}},
		"array of geometries (: delim)": {func(b []byte) (any, error) { v, _, err := decodeArrayN(b, ':', decodeString); return v, err }, "{ab:NULL:cd}", []any{"ab", nil, "cd"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.decode([]byte(tc.in))
			if err != nil {
				t.Fatalf("decode %q: %v", tc.in, err)
			}
			if f, ok := tc.want.(float64); ok && math.IsNaN(f) {
				if g, ok := got.(float64); !ok || !math.IsNaN(g) {
					t.Fatalf("decode %q = %v, want NaN", tc.in, got)
				}
				return
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b connect.Decimal) bool {
				return a.Scale == b.Scale && a.Unscaled.Cmp(b.Unscaled) == 0
			})); diff != "" {
				t.Fatalf("decode %q (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestDecodersRefuseGarbage(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		decode func([]byte) (any, error)
		in     string
	}{
		"bool":             {decodeBool, "yes please"},
		"bytea escape":     {decodeBytea, `abc`},
		"interval":         {decodeInterval, "1 day"},
		"timestamptz":      {func(b []byte) (any, error) { return decodeTimestamptz(b, 6) }, "2024-01-01"},
		"nested array":     {func(b []byte) (any, error) { return decodeArray(b, ',', decodeString) }, "{{1,2},{3,4}}"},
		"unbalanced":       {func(b []byte) (any, error) { return decodeArray(b, ',', decodeString) }, "{a"},
		"int out of range": {decodeInt16, "40000"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if v, err := tc.decode([]byte(tc.in)); err == nil {
				t.Fatalf("decode %q = %v, want an error", tc.in, v)
			}
		})
	}
}

func TestPositionCovers(t *testing.T) {
	t.Parallel()
	stored := position{commit: 100, lsn: 90, inTx: true}
	heartbeat := position{commit: 100, lsn: 100, msgType: msgCommit}
	tests := map[string]struct {
		p           position
		commit, lsn uint64
		alreadySent bool
	}{
		"earlier transaction":            {stored, 99, 95, true},
		"same transaction, sent change":  {stored, 100, 90, true},
		"same transaction, later change": {stored, 100, 91, false},
		"later transaction":              {stored, 101, 95, false},
		// (A later transaction with a change before 90 reaches covers only
		// after the first transaction committed, which clears inTx.)
		"heartbeat: earlier transaction": {heartbeat, 99, 98, true},
		"heartbeat: commit at its LSN":   {heartbeat, 100, 10, false},
	}
	for name, tc := range tests {
		if got := tc.p.covers(tc.commit, tc.lsn); got != tc.alreadySent {
			t.Errorf("%s: covers = %v, want %v", name, got, tc.alreadySent)
		}
	}
}

func TestStoredOffsetRoundTrip(t *testing.T) {
	t.Parallel()
	p := position{commit: 5000, lsn: 4800, inTx: true, txid: 77, tsUsec: 1700000000000000, msgType: msgUpdate}
	s, err := parseStoredOffset(p.offset())
	if err != nil {
		t.Fatal(err)
	}
	if s.snapshot || s.pos != p {
		t.Fatalf("stream offset came back as %+v, want %+v", s, p)
	}
	snap := snapshotOffset(position{commit: 4000, tsUsec: 1}, false, "public.t", []any{"7", "x"})
	s, err = parseStoredOffset(snap)
	if err != nil {
		t.Fatal(err)
	}
	if !s.snapshot || s.table != "public.t" || len(s.ranges) != 1 || cmp.Diff([]string{"7", "x"}, s.ranges[0].after) != "" || s.pos.commit != 4000 {
		t.Fatalf("snapshot offset came back as %+v", s)
	}
	lo, hi := "10", "20"
	ranged, err := parseStoredOffset(snapshotRangesOffset(position{commit: 4000}, "public.t", []snapRange{{hi: &lo, done: true}, {lo: &lo, hi: &hi, after: []string{"15"}}, {lo: &hi}}))
	if err != nil || cmp.Diff([]snapRange{{hi: &lo, done: true}, {lo: &lo, hi: &hi, after: []string{"15"}}, {lo: &hi}}, ranged.ranges, cmp.AllowUnexported(snapRange{})) != "" {
		t.Fatalf("ranged snapshot offset came back as %+v %v", ranged.ranges, err)
	}
	done, _ := parseStoredOffset(snapshotOffset(position{commit: 4000}, true, "", nil))
	if done.snapshot {
		t.Fatalf("an offset with last_snapshot_record reads as an unfinished snapshot")
	}
	if _, ok := confirmable(snap); ok {
		t.Fatalf("a snapshot offset confirmed an LSN")
	}
	if lsn, ok := confirmable(p.offset()); !ok || lsn != 5000 {
		t.Fatalf("confirmable = %d %v, want 5000", lsn, ok)
	}
	// Debezium's own offsets: without lsn_commit, from lsn.
	s, _ = parseStoredOffset(map[string]any{"lsn": int64(1234), "txId": int64(5), "ts_usec": int64(9)})
	if s.pos.commit != 1234 || s.pos.inTx {
		t.Fatalf("a Debezium offset resumes at %+v, want commit 1234", s.pos)
	}
	// Debezium 2.7's offset of a change: lsn_commit is the end of the
	// transaction before, lsn_proc the change.
	s, _ = parseStoredOffset(map[string]any{"lsn": int64(900), "lsn_proc": int64(900), "lsn_commit": int64(800), "txId": int64(5),
		"ts_usec": int64(9), "messageType": "INSERT", "transaction_id": "5", "transaction_data_collection_order_public.t": int64(3)})
	if want := (position{commit: 800, lsn: 900, inTx: true, txid: 5, tsUsec: 9, msgType: msgInsert}); s.pos != want || s.tx.id != "5" || s.tx.total != 3 {
		t.Fatalf("Debezium change offset read as %+v, want %+v and transaction 5 with 3 events", s, want)
	}
	// ... and after a commit: the transaction is whole.
	s, _ = parseStoredOffset(map[string]any{"lsn": int64(950), "lsn_proc": int64(950), "lsn_commit": int64(950), "messageType": "COMMIT"})
	if s.pos.inTx || s.pos.commit != 950 {
		t.Fatalf("Debezium commit offset read as %+v", s.pos)
	}
	// An earlier version of this connector: lsn_commit was the change's own
	// transaction's commit LSN, lsn_proc the change.
	s, _ = parseStoredOffset(map[string]any{"lsn": int64(900), "lsn_proc": int64(900), "lsn_commit": int64(1000), "txId": int64(5)})
	if !s.pos.inTx || s.pos.commit != 1000 || s.pos.lsn != 900 {
		t.Fatalf("an earlier offset read as %+v", s.pos)
	}
}

func TestDefaultText(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	tests := map[string]struct {
		cm   columnMeta
		want string
		ok   bool
	}{
		"literal text":        {columnMeta{typname: "text", defaultExpr: str("'it''s'::text")}, "it", true},
		"number":              {columnMeta{typname: "int4", defaultExpr: str("5")}, "5", true},
		"negative cast":       {columnMeta{typname: "int8", defaultExpr: str("'-3'::integer")}, "-3", true},
		"serial":              {columnMeta{typname: "int4", defaultExpr: str("nextval('t_id_seq'::regclass)")}, "0", true},
		"now()":               {columnMeta{typname: "timestamptz", defaultExpr: str("now()")}, "1970-01-01 00:00:00+00", true},
		"CURRENT_DATE":        {columnMeta{typname: "date", defaultExpr: str("CURRENT_DATE")}, "1970-01-01", true},
		"NULL":                {columnMeta{typname: "varchar", defaultExpr: str("NULL::character varying")}, "", false},
		"bytea has no mapper": {columnMeta{typname: "bytea", defaultExpr: str("'\\x01'::bytea")}, "", false},
		"enum":                {columnMeta{typname: "mood", enum: true, defaultExpr: str("'ok'::mood")}, "ok", true},
		"none":                {columnMeta{typname: "text"}, "", false},
	}
	for name, tc := range tests {
		got, ok := defaultText(tc.cm)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: defaultText = %q %v, want %q %v", name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseDecimalMatchesBigRat(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0", "-0.00125", "1234567.891", "999999999999999999", "1234567890123456789.5", "-12.340", "+5", "0.0"} {
		got, err := parseDecimal([]byte(s))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		want, _ := connect.ParseDecimal(s)
		if got.Scale != want.Scale || got.Unscaled.Cmp(want.Unscaled) != 0 {
			t.Errorf("%s: %v scale %d, want %v scale %d", s, got.Unscaled, got.Scale, want.Unscaled, want.Scale)
		}
	}
}

func TestTopicName(t *testing.T) {
	t.Parallel()
	if got := topicName(`srv.public.my table$é`); got != "srv.public.my_table___" {
		t.Fatalf("topicName = %q", got)
	}
}

// TestArrayDepthsAndBadValues checks how values fit the declared array
// depth, and that malformed arrays, hstores and bits are refused.
func TestArrayDepthsAndBadValues(t *testing.T) {
	t.Parallel()
	// Declared dimensions win: deeper values are flattened, shallower ones wrapped.
	two := []any{[]any{1, 2}, []any{3}}
	if d := cmp.Diff([]any{1, 2, 3}, fitDepth(two, 2, 1)); d != "" {
		t.Errorf("flatten: %s", d)
	}
	if d := cmp.Diff([]any{[]any{1, 2}}, fitDepth([]any{1, 2}, 1, 2)); d != "" {
		t.Errorf("wrap: %s", d)
	}
	for _, bad := range []string{"{1,2", "{{1},2", "{1}}", `{"a}`, "1,2"} {
		if v, _, err := decodeArrayN([]byte(bad), ',', decodeString); err == nil {
			t.Errorf("decode %q = %v, want an error", bad, v)
		}
	}
	if _, err := parseHstore([]byte(`"a"=>`)); err == nil {
		t.Error("a truncated hstore decoded")
	}
	if _, err := decodeBits([]byte("102")); err == nil {
		t.Error("a bit string with a 2 decoded")
	}
}
