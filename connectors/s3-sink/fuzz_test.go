package s3sink

import (
	"testing"
	"time"
)

// FuzzPathFormat: any path.format either fails to parse with an error or
// formats every time without panicking.
func FuzzPathFormat(f *testing.F) {
	for _, s := range []string{"'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", "yyyy-MM-dd''HH", "MMMM EEEE a Z ZZ ZZZ z SSS kK hH", "'unterminated", "''''", "x w e D C G"} {
		f.Add(s, "en_US")
	}
	f.Fuzz(func(t *testing.T, pattern, locale string) {
		p, err := parseJoda(pattern, locale)
		if err != nil {
			return
		}
		loc, _ := time.LoadLocation("America/New_York")
		for _, ms := range []int64{0, 1700000000000, -62135596800000, 253402300799000} {
			p.format(time.UnixMilli(ms).In(loc))
		}
	})
}

// FuzzTimeString: a RecordField string never panics the extractor.
func FuzzTimeString(f *testing.F) {
	for _, s := range []string{"1700000000000", "2024-01-02T03:04:05Z", "2024-01-02", "-5", "garbage"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { parseTimeString(s) })
}
