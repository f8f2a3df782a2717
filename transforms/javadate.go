package transforms

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// dateFormat is java.text.SimpleDateFormat in the UTC time zone and the
// English locale, as TimestampConverter and TimestampRouter use it: a
// compiled pattern that formats and (leniently) parses instants.
//
// Supported letters: G y Y M L w W D d F E u a H k K h m s S z Z X, with
// 'quoted text' and ” for a quote, as Java defines them. Parsing accepts
// what Java's lenient parsing accepts for these fields: numbers of any
// width (fixed width when the next field abuts), month and day names
// short or long in any case, out-of-range values rolling over, and
// ignores text after the pattern.
type dateFormat struct {
	pattern string
	items   []dateItem
}

type dateItem struct {
	letter byte // 0: literal
	count  int
	lit    string
}

const patternLetters = "GyYMLwWDdFEuaHkKhmsSzZX"

// errPattern is returned for a pattern Java's SimpleDateFormat refuses.
var errPattern = errors.New("invalid pattern")

func compileDateFormat(p string) (*dateFormat, error) {
	f := &dateFormat{pattern: p}
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '\'':
			if i+1 < len(p) && p[i+1] == '\'' {
				f.lit("'")
				i += 2
				continue
			}
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(p) {
				if p[j] == '\'' {
					if j+1 < len(p) && p[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				b.WriteByte(p[j])
				j++
			}
			if !closed {
				return nil, fmt.Errorf("%w: Unterminated quote", errPattern)
			}
			f.lit(b.String())
			i = j
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			if !strings.ContainsRune(patternLetters, rune(c)) {
				return nil, fmt.Errorf("%w: Illegal pattern character '%c'", errPattern, c)
			}
			j := i
			for j < len(p) && p[j] == c {
				j++
			}
			f.items = append(f.items, dateItem{letter: c, count: j - i})
			i = j
		default:
			f.lit(string(c))
			i++
		}
	}
	return f, nil
}

func (f *dateFormat) lit(s string) {
	if n := len(f.items); n > 0 && f.items[n-1].letter == 0 {
		f.items[n-1].lit += s
		return
	}
	f.items = append(f.items, dateItem{lit: s})
}

var (
	monthsLong  = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	daysLong    = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	ampmStrings = [...]string{"AM", "PM"}
)

// appendFormat appends t (taken in UTC) formatted by f.
func (f *dateFormat) appendFormat(dst []byte, t time.Time) []byte {
	t = t.UTC()
	// Each of time.Time's Year, Month, Day, Hour... works the date out
	// again from the instant: do it once.
	year, month, day := t.Date()
	hour, minute, second := t.Clock()
	for _, it := range f.items {
		n := it.count
		switch it.letter {
		case 0:
			dst = append(dst, it.lit...)
		case 'G':
			if year <= 0 {
				dst = append(dst, "BC"...)
			} else {
				dst = append(dst, "AD"...)
			}
		case 'y', 'Y':
			y := year
			if it.letter == 'Y' {
				y = weekYear(t)
			}
			if y <= 0 {
				y = 1 - y // year of era
			}
			if n == 2 {
				dst = appendPadded(dst, y%100, 2)
			} else {
				dst = appendPadded(dst, y, n)
			}
		case 'M', 'L':
			m := int(month)
			switch {
			case n >= 4:
				dst = append(dst, monthsLong[m-1]...)
			case n == 3:
				dst = append(dst, monthsLong[m-1][:3]...)
			default:
				dst = appendPadded(dst, m, n)
			}
		case 'w':
			dst = appendPadded(dst, weekOfYear(t), n)
		case 'W':
			dst = appendPadded(dst, weekOfMonth(t), n)
		case 'D':
			dst = appendPadded(dst, t.YearDay(), n)
		case 'd':
			dst = appendPadded(dst, day, n)
		case 'F':
			dst = appendPadded(dst, (day-1)/7+1, n)
		case 'E':
			d := daysLong[t.Weekday()]
			if n >= 4 {
				dst = append(dst, d...)
			} else {
				dst = append(dst, d[:3]...)
			}
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			dst = appendPadded(dst, wd, n)
		case 'a':
			dst = append(dst, ampmStrings[hour/12]...)
		case 'H':
			dst = appendPadded(dst, hour, n)
		case 'k':
			h := hour
			if h == 0 {
				h = 24
			}
			dst = appendPadded(dst, h, n)
		case 'K':
			dst = appendPadded(dst, hour%12, n)
		case 'h':
			h := hour % 12
			if h == 0 {
				h = 12
			}
			dst = appendPadded(dst, h, n)
		case 'm':
			dst = appendPadded(dst, minute, n)
		case 's':
			dst = appendPadded(dst, second, n)
		case 'S':
			dst = appendPadded(dst, t.Nanosecond()/1e6, n)
		case 'z':
			if n >= 4 {
				dst = append(dst, "Coordinated Universal Time"...)
			} else {
				dst = append(dst, "UTC"...)
			}
		case 'Z':
			dst = append(dst, "+0000"...)
		case 'X':
			dst = append(dst, 'Z')
		}
	}
	return dst
}

// weekOfYear and weekOfMonth follow java.util.GregorianCalendar in the
// English (US) locale: weeks start on Sunday and week 1 is the one holding
// January 1st (or the 1st of the month).
func weekOfYear(t time.Time) int {
	jan1 := time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	w := (t.YearDay() - 1 + int(jan1.Weekday())) / 7
	// The days after the last Sunday of December belong to week 1 of the
	// next year.
	dec31 := time.Date(t.Year(), 12, 31, 0, 0, 0, 0, time.UTC)
	if t.YearDay() > dec31.YearDay()-int(dec31.Weekday()) && dec31.Weekday() != time.Saturday {
		return 1
	}
	return w + 1
}

func weekYear(t time.Time) int {
	if t.Month() == time.December && weekOfYear(t) == 1 {
		return t.Year() + 1
	}
	return t.Year()
}

func weekOfMonth(t time.Time) int {
	first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return (t.Day()-1+int(first.Weekday()))/7 + 1
}

func appendPadded(dst []byte, v, width int) []byte {
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	var buf [20]byte
	i := len(buf)
	for v >= 10 {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	i--
	buf[i] = byte('0' + v)
	for n := len(buf) - i; n < width; n++ {
		dst = append(dst, '0')
	}
	return append(dst, buf[i:]...)
}

// format returns t formatted by f.
func (f *dateFormat) format(t time.Time) string {
	return string(f.appendFormat(make([]byte, 0, 32), t))
}

// parse reads an instant from s as Java's lenient SimpleDateFormat.parse
// does: fields not in the pattern default to 1970-01-01T00:00:00.000 UTC,
// and text after the last field is ignored.
func (f *dateFormat) parse(s string) (time.Time, error) {
	fail := func() (time.Time, error) {
		return time.Time{}, fmt.Errorf("Unparseable date: %q", s)
	}
	year, month, day := 1970, 1, 1
	hour, minute, sec, ms := 0, 0, 0, 0
	var (
		bc, pm, hasAmPm, twoDigitYr bool
		hour12, hasHour12           int
		yearDay, hasYearDay         int
		offsetSec                   int
	)
	pos := 0
	for i, it := range f.items {
		if it.letter == 0 {
			// Java skips blanks in the text where the pattern has them
			// and matches the rest exactly.
			for j := 0; j < len(it.lit); j++ {
				if pos >= len(s) || s[pos] != it.lit[j] {
					if it.lit[j] == ' ' || it.lit[j] == '\t' {
						continue
					}
					return fail()
				}
				pos++
			}
			continue
		}
		// A numeric field followed directly by another numeric field takes
		// exactly count digits (Java's abutting fields).
		width := 0
		if i+1 < len(f.items) && isNumericItem(f.items[i+1]) && isNumericItem(it) {
			width = it.count
		}
		switch it.letter {
		case 'G':
			switch {
			case hasPrefixFold(s[pos:], "AD"):
				pos += 2
			case hasPrefixFold(s[pos:], "BC"):
				bc = true
				pos += 2
			default:
				return fail()
			}
		case 'M', 'L':
			if it.count >= 3 {
				m, n := matchName(s[pos:], monthsLong[:])
				if n == 0 {
					return fail()
				}
				month, pos = m+1, pos+n
				continue
			}
			v, n, ok := parseNum(s, pos, width)
			if !ok {
				return fail()
			}
			month, pos = v, pos+n
		case 'E':
			_, n := matchName(s[pos:], daysLong[:])
			if n == 0 {
				return fail()
			}
			pos += n // the day of the week does not change the date
		case 'a':
			switch {
			case hasPrefixFold(s[pos:], "AM"):
				pos += 2
			case hasPrefixFold(s[pos:], "PM"):
				pm = true
				pos += 2
			default:
				return fail()
			}
			hasAmPm = true
		case 'z', 'Z', 'X':
			off, n, ok := parseZone(s[pos:], it.letter)
			if !ok {
				return fail()
			}
			offsetSec, pos = off, pos+n
		default:
			v, n, ok := parseNum(s, pos, width)
			if !ok {
				return fail()
			}
			switch it.letter {
			case 'y', 'Y':
				year = v
				twoDigitYr = it.count <= 2 && n == 2 && s[pos] >= '0' && s[pos] <= '9'
			case 'D':
				yearDay, hasYearDay = v, 1
			case 'd':
				day = v
			case 'H':
				hour = v
			case 'k':
				if v == 24 {
					v = 0
				}
				hour = v
			case 'K':
				hour12, hasHour12 = v, 1
			case 'h':
				if v == 12 {
					v = 0
				}
				hour12, hasHour12 = v, 1
			case 'm':
				minute = v
			case 's':
				sec = v
			case 'S':
				ms = v
			}
			pos += n
		}
	}
	if twoDigitYr {
		// Java places a two-digit year within 80 years before and 20 after now.
		now := time.Now().UTC()
		start := now.AddDate(-80, 0, 0)
		year += start.Year() / 100 * 100
		if time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC).Before(start) {
			year += 100
		}
	}
	if bc {
		year = 1 - year
	}
	if hasHour12 == 1 {
		hour = hour12
		if pm {
			hour += 12
		}
	} else if hasAmPm && pm && hour < 12 {
		hour += 12
	}
	var t time.Time
	if hasYearDay == 1 {
		t = time.Date(year, 1, yearDay, hour, minute, sec, 0, time.UTC)
	} else {
		t = time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	}
	t = t.Add(time.Duration(ms) * time.Millisecond).Add(-time.Duration(offsetSec) * time.Second)
	return t, nil
}

func isNumericItem(it dateItem) bool {
	switch it.letter {
	case 0, 'G', 'E', 'a', 'z', 'Z', 'X':
		return false
	case 'M', 'L':
		return it.count < 3
	}
	return true
}

// parseNum reads a decimal number at s[pos:], optionally signed, of at most
// width digits (0: any).
func parseNum(s string, pos, width int) (v, n int, ok bool) {
	i := pos
	neg := false
	if i < len(s) && (s[i] == '-' || s[i] == '+') && width == 0 {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' && (width == 0 || i-start < width) {
		if v > (1<<31)/10 {
			return 0, 0, false
		}
		v = v*10 + int(s[i]-'0')
		i++
	}
	if i == start {
		return 0, 0, false
	}
	if neg {
		v = -v
	}
	return v, i - pos, true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// matchName matches the longest of names, or of their three-letter forms,
// at the start of s, ignoring case.
func matchName(s string, names []string) (idx, n int) {
	for i, name := range names {
		if hasPrefixFold(s, name) && len(name) > n {
			idx, n = i, len(name)
		}
	}
	if n > 0 {
		return idx, n
	}
	for i, name := range names {
		if hasPrefixFold(s, name[:3]) {
			return i, 3
		}
	}
	return 0, 0
}

// parseZone reads a zone: "Z" (X), an offset "+hh", "+hhmm", "+hh:mm", or
// (z, Z) "GMT"/"UTC" optionally followed by an offset. It returns the offset
// east of UTC in seconds.
func parseZone(s string, letter byte) (off, n int, ok bool) {
	if letter == 'X' && len(s) > 0 && (s[0] == 'Z' || s[0] == 'z') {
		return 0, 1, true
	}
	if letter != 'X' {
		for _, name := range []string{"Coordinated Universal Time", "UTC", "GMT"} {
			if hasPrefixFold(s, name) {
				o, m, ok := parseOffset(s[len(name):])
				if !ok {
					return 0, len(name), true
				}
				return o, len(name) + m, true
			}
		}
	}
	return parseOffset(s)
}

func parseOffset(s string) (off, n int, ok bool) {
	if len(s) < 2 || (s[0] != '+' && s[0] != '-') {
		return 0, 0, false
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	i := 1
	digits := func(max int) (int, int) {
		v, k := 0, 0
		for i+k < len(s) && k < max && s[i+k] >= '0' && s[i+k] <= '9' {
			v = v*10 + int(s[i+k]-'0')
			k++
		}
		return v, k
	}
	h, k := digits(2)
	if k == 0 {
		return 0, 0, false
	}
	i += k
	m := 0
	if i < len(s) && s[i] == ':' {
		i++
		var k2 int
		m, k2 = digits(2)
		if k2 != 2 {
			return 0, 0, false
		}
		i += k2
	} else if k == 2 {
		var k2 int
		m, k2 = digits(2)
		if k2 == 2 {
			i += k2
		} else {
			m = 0
		}
	}
	return sign * (h*3600 + m*60), i, true
}
