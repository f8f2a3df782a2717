package ftp

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// entryKind is what a listed name is.
type entryKind uint8

const (
	kindOther entryKind = iota // symbolic links, devices, "." and ".."
	kindFile
	kindDir
)

// entry is one name of a directory listing.
type entry struct {
	name string
	kind entryKind
	size int64
	// mtime is the modification time. When exact is false it is a LIST
	// time, true to res only: the file changed in [mtime, mtime+res).
	mtime time.Time
	exact bool
	res   time.Duration
}

var errListLine = errors.New("unsupported listing line")

// parseMLSDLine parses one line of an MLSD listing (RFC 3659):
// "fact=value;fact=value; name". Times are UTC, to the second or finer.
func parseMLSDLine(line string) (entry, error) {
	line = strings.TrimRight(line, "\r\n")
	sp := strings.IndexByte(line, ' ')
	if sp <= 0 || sp == len(line)-1 {
		return entry{}, errListLine
	}
	e := entry{name: line[sp+1:], exact: true, size: -1}
	typ := ""
	for _, fact := range strings.Split(strings.TrimSuffix(line[:sp], ";"), ";") {
		k, v, ok := strings.Cut(fact, "=")
		if !ok {
			return entry{}, errListLine
		}
		switch strings.ToLower(k) {
		case "type":
			typ = strings.ToLower(v)
		case "size":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return entry{}, errListLine
			}
			e.size = n
		case "modify":
			t, err := parseMLSDTime(v)
			if err != nil {
				return entry{}, err
			}
			e.mtime = t
		}
	}
	switch typ {
	case "file":
		e.kind = kindFile
	case "dir":
		e.kind = kindDir
	default: // cdir, pdir, OS.unix=symlink, unknown
		e.kind = kindOther
	}
	if e.kind == kindFile && (e.size < 0 || e.mtime.IsZero()) {
		return entry{}, errListLine // without both, a file has no identity
	}
	return e, nil
}

// parseMLSDTime parses YYYYMMDDHHMMSS[.sss] in UTC, to the second: the
// resolution MDTM and SFTP give, so identities agree across servers.
func parseMLSDTime(v string) (time.Time, error) {
	if i := strings.IndexByte(v, '.'); i >= 0 {
		v = v[:i]
	}
	t, err := time.ParseInLocation("20060102150405", v, time.UTC)
	if err != nil {
		return time.Time{}, errListLine
	}
	return t, nil
}

var months = map[string]time.Month{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}

// parseLISTLine parses one line of a LIST listing in the format of Unix
// ls -l ("-rw-r--r-- 1 u g 1234 Jan 02 15:04 name", or "Jan 02  2023"
// for files older than about six months) or of Windows servers
// ("01-02-24  03:04PM  1234 name", "<DIR>"). Times are in loc and true
// to the minute (the day, for the year form); now picks the year of the
// short form, as ls does: the last one that is not in the future.
func parseLISTLine(line string, now time.Time, loc *time.Location) (entry, error) {
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return entry{}, errListLine
	}
	if line[0] >= '0' && line[0] <= '9' {
		return parseDOSLine(line, loc)
	}
	f := fieldsN(line, 9)
	if len(f) < 8 || len(f[0]) < 10 {
		return entry{}, errListLine
	}
	e := entry{res: time.Minute}
	switch f[0][0] {
	case '-':
		e.kind = kindFile
	case 'd':
		e.kind = kindDir
	default:
		e.kind = kindOther
	}
	// Some servers leave out the group: then the date starts one field
	// earlier. The size is the number before the month.
	mi := 5
	if _, ok := months[strings.ToLower(f[5])]; ok && len(f) == 9 {
		e.name = f[8]
	} else {
		if _, ok := months[strings.ToLower(f[4])]; !ok {
			return entry{}, errListLine
		}
		mi = 4
		f = fieldsN(line, 8)
		if len(f) < 8 {
			return entry{}, errListLine
		}
		e.name = f[7]
	}
	size, err := strconv.ParseInt(f[mi-1], 10, 64)
	if err != nil || size < 0 {
		return entry{}, errListLine
	}
	e.size = size
	month := months[strings.ToLower(f[mi])]
	day, err := strconv.Atoi(f[mi+1])
	if err != nil || day < 1 || day > 31 {
		return entry{}, errListLine
	}
	hm := f[mi+2]
	if h, m, ok := strings.Cut(hm, ":"); ok {
		hour, err1 := strconv.Atoi(h)
		min, err2 := strconv.Atoi(m)
		if err1 != nil || err2 != nil || hour > 23 || min > 59 {
			return entry{}, errListLine
		}
		local := now.In(loc)
		t := time.Date(local.Year(), month, day, hour, min, 0, 0, loc)
		if t.After(local.Add(24 * time.Hour)) {
			t = time.Date(local.Year()-1, month, day, hour, min, 0, 0, loc)
		}
		e.mtime = t
	} else {
		year, err := strconv.Atoi(hm)
		if err != nil || year < 1970 || year > 9999 {
			return entry{}, errListLine
		}
		e.mtime = time.Date(year, month, day, 0, 0, 0, 0, loc)
		e.res = 24 * time.Hour
	}
	if e.kind == kindOther || e.name == "." || e.name == ".." {
		e.kind = kindOther
	}
	return e, nil
}

// parseDOSLine parses "MM-DD-YY  HH:MMAM  <DIR>|SIZE  name" (IIS and
// other Windows servers).
func parseDOSLine(line string, loc *time.Location) (entry, error) {
	f := fieldsN(line, 4)
	if len(f) < 4 {
		return entry{}, errListLine
	}
	var t time.Time
	var err error
	for _, layout := range []string{"01-02-06 03:04PM", "01-02-2006 03:04PM", "2006-01-02 15:04", "01-02-2006 15:04", "01-02-06 15:04"} {
		if t, err = time.ParseInLocation(layout, f[0]+" "+f[1], loc); err == nil {
			break
		}
	}
	if err != nil {
		return entry{}, errListLine
	}
	e := entry{name: f[3], mtime: t, res: time.Minute}
	if f[2] == "<DIR>" {
		e.kind = kindDir
		return e, nil
	}
	size, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || size < 0 {
		return entry{}, errListLine
	}
	e.kind, e.size = kindFile, size
	return e, nil
}

// fieldsN splits s at runs of spaces into at most n fields; the last
// holds the rest of the line as is, so names may hold spaces.
func fieldsN(s string, n int) []string {
	out := make([]string, 0, n)
	for len(out) < n-1 {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return out
		}
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	// The last field: one run of spaces goes, the rest is the name.
	if s = strings.TrimLeft(s, " "); s != "" {
		out = append(out, s)
	}
	return out
}
