package s3sink

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// A jodaPattern formats times as Joda-Time's DateTimeFormat.forPattern
// does, which Confluent's time-based partitioners use for path.format.
type jodaPattern []jodaToken

type jodaToken struct {
	letter  byte   // 0: literal
	count   int    // how many times the letter repeats
	literal string // for letter 0
}

// parseJoda parses a Joda-Time pattern. Text fields (month and day names,
// AM/PM, era) are English: Confluent builds its Locale from the whole
// locale string, so "en_US" or "de_DE" are unknown languages to Java and
// print the root locale's English names; only a bare non-English language
// code ("de") would print others, which is refused here.
func parseJoda(p, locale string) (jodaPattern, error) {
	var out jodaPattern
	lang := strings.ToLower(locale)
	englishOnly := lang != "" && !strings.ContainsAny(lang, "_-") && !strings.HasPrefix(lang, "en")
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '\'':
			// Quoted text; '' is a quote.
			j := i + 1
			var lit strings.Builder
			if j < len(p) && p[j] == '\'' {
				out = append(out, jodaToken{literal: "'"})
				i += 2
				continue
			}
			for {
				if j >= len(p) {
					return nil, fmt.Errorf("unterminated quote in %q", p)
				}
				if p[j] == '\'' {
					if j+1 < len(p) && p[j+1] == '\'' {
						lit.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				lit.WriteByte(p[j])
				j++
			}
			out = append(out, jodaToken{literal: lit.String()})
			i = j + 1
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			j := i
			for j < len(p) && p[j] == c {
				j++
			}
			n := j - i
			if !strings.ContainsRune("GCYxwyeEDMdaKhHkmsSzZ", rune(c)) {
				return nil, fmt.Errorf("Illegal pattern component: %s", p[i:j])
			}
			text := c == 'G' || c == 'E' || c == 'a' || (c == 'M' && n >= 3)
			if text && englishOnly {
				return nil, fmt.Errorf("the names %q prints are only available in English; use a locale such as en_US, or numeric fields", p[i:j])
			}
			out = append(out, jodaToken{letter: c, count: n})
			i = j
		default:
			j := i
			for j < len(p) && p[j] != '\'' && !((p[j] >= 'a' && p[j] <= 'z') || (p[j] >= 'A' && p[j] <= 'Z')) {
				j++
			}
			out = append(out, jodaToken{literal: p[i:j]})
			i = j
		}
	}
	return out, nil
}

// format renders t (already in the pattern's zone).
func (p jodaPattern) format(t time.Time) string {
	var b []byte
	for _, tk := range p {
		if tk.letter == 0 {
			b = append(b, tk.literal...)
			continue
		}
		n := tk.count
		switch tk.letter {
		case 'G':
			if t.Year() > 0 {
				b = append(b, "AD"...)
			} else {
				b = append(b, "BC"...)
			}
		case 'C':
			b = pad(b, int64(yearOfEra(t)/100), n)
		case 'Y', 'y', 'x':
			y := t.Year()
			if tk.letter == 'Y' {
				y = yearOfEra(t)
			} else if tk.letter == 'x' {
				y, _ = t.ISOWeek()
			}
			if n == 2 {
				b = pad(b, int64(((y%100)+100)%100), 2)
			} else {
				b = pad(b, int64(y), n)
			}
		case 'w':
			_, w := t.ISOWeek()
			b = pad(b, int64(w), n)
		case 'e':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			b = pad(b, int64(wd), n)
		case 'E':
			name := t.Weekday().String()
			if n < 4 {
				name = name[:3]
			}
			b = append(b, name...)
		case 'D':
			b = pad(b, int64(t.YearDay()), n)
		case 'M':
			switch {
			case n >= 4:
				b = append(b, t.Month().String()...)
			case n == 3:
				b = append(b, t.Month().String()[:3]...)
			default:
				b = pad(b, int64(t.Month()), n)
			}
		case 'd':
			b = pad(b, int64(t.Day()), n)
		case 'a':
			if t.Hour() < 12 {
				b = append(b, "AM"...)
			} else {
				b = append(b, "PM"...)
			}
		case 'K':
			b = pad(b, int64(t.Hour()%12), n)
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			b = pad(b, int64(h), n)
		case 'H':
			b = pad(b, int64(t.Hour()), n)
		case 'k':
			h := t.Hour()
			if h == 0 {
				h = 24
			}
			b = pad(b, int64(h), n)
		case 'm':
			b = pad(b, int64(t.Minute()), n)
		case 's':
			b = pad(b, int64(t.Second()), n)
		case 'S':
			// Fraction of the second, truncated to n digits (Joda keeps ms).
			ms := fmt.Sprintf("%03d", t.Nanosecond()/1e6)
			for len(ms) < n {
				ms += "0"
			}
			b = append(b, ms[:n]...)
		case 'z':
			name, _ := t.Zone()
			b = append(b, name...)
		case 'Z':
			_, off := t.Zone()
			switch n {
			case 1:
				b = append(b, offset(off, false)...)
			case 2:
				b = append(b, offset(off, true)...)
			default:
				b = append(b, t.Location().String()...)
			}
		}
	}
	return string(b)
}

func yearOfEra(t time.Time) int {
	if y := t.Year(); y <= 0 {
		return 1 - y
	}
	return t.Year()
}

func pad(b []byte, v int64, n int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	s := strconv.FormatInt(v, 10)
	for i := len(s); i < n; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

func offset(sec int, colon bool) string {
	if sec == 0 {
		return "Z"
	}
	sign := '+'
	if sec < 0 {
		sign, sec = '-', -sec
	}
	if colon {
		return fmt.Sprintf("%c%02d:%02d", sign, sec/3600, sec/60%60)
	}
	return fmt.Sprintf("%c%02d%02d", sign, sec/3600, sec/60%60)
}

// partitionStart returns the start of the time partition of ms, as
// Confluent's TimeBasedPartitioner.getPartition computes it with Joda-Time:
// the local wall time is truncated to a multiple of the duration (counted
// from the local epoch), then converted back to an instant, a time in a DST
// gap resolving as Joda's convertLocalToUTC(local, false) does.
func partitionStart(ms, durationMs int64, loc *time.Location) int64 {
	local := ms + int64(offsetAt(ms, loc))*1000
	truncated := (local / durationMs) * durationMs // truncates toward zero, as Java's /
	return localToUTC(truncated, loc)
}

// offsetAt is the zone's offset in seconds at the instant ms.
func offsetAt(ms int64, loc *time.Location) int {
	_, off := time.UnixMilli(ms).In(loc).Zone()
	return off
}

// nextTransition is the instant (ms) of the zone's first offset change
// after ms, or ms itself when there is none (Joda's convention).
func nextTransition(ms int64, loc *time.Location) int64 {
	_, end := time.UnixMilli(ms).In(loc).ZoneBounds()
	if end.IsZero() {
		return ms
	}
	return end.UnixMilli()
}

// localToUTC is Joda's DateTimeZone.convertLocalToUTC(local, false).
func localToUTC(local int64, loc *time.Location) int64 {
	offsetLocal := int64(offsetAt(local, loc)) * 1000
	off := int64(offsetAt(local-offsetLocal, loc)) * 1000
	if offsetLocal != off && offsetLocal < 0 {
		nextLocal := nextTransition(local-offsetLocal, loc)
		if nextLocal == local-offsetLocal {
			nextLocal = math.MaxInt64
		}
		nextAdjusted := nextTransition(local-off, loc)
		if nextAdjusted == local-off {
			nextAdjusted = math.MaxInt64
		}
		if nextLocal != nextAdjusted {
			off = offsetLocal // in the DST gap
		}
	}
	return local - off
}

// nextScheduled is Confluent's DateTimeUtils.getNextTimeAdjustedByDay: the
// next multiple of period after now, counted from the start of now's day
// in loc, and never past the start of the next day.
func nextScheduled(now time.Time, period time.Duration, loc *time.Location) time.Time {
	t := now.In(loc)
	start := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	// A day that starts in a DST gap starts at the gap's end, as in Joda.
	if start.Day() != t.Day() {
		start = time.Date(t.Year(), t.Month(), t.Day(), 1, 0, 0, 0, loc)
	}
	next := time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
	dayMs := next.Sub(start).Milliseconds()
	sinceStart := now.Sub(start).Milliseconds()
	p := period.Milliseconds()
	off := (sinceStart/p + 1) * p
	if off > dayMs {
		off = dayMs
	}
	return start.Add(time.Duration(off) * time.Millisecond)
}
