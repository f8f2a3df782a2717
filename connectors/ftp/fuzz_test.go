package ftp

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseLISTLine feeds LIST lines to the parser: it never panics, and
// a file it accepts has a name, a size and a time.
func FuzzParseLISTLine(f *testing.F) {
	for _, s := range []string{
		"-rw-r--r--    1 1001     1001           12 Jan 02 15:04 a.txt",
		"-rw-r--r--    1 1001     1001           12 Jan 02  2023 with  two spaces.txt",
		"drwxr-xr-x    2 0        0            4096 Dec 31 23:59 sub",
		"lrwxrwxrwx    1 0        0               7 Feb 29 00:00 link -> target",
		"-rw-r--r-- 1 owner 5 Mar 01 10:00 nogroup",
		"01-02-24  03:04PM                 1234 win.txt",
		"01-02-2024  15:04       <DIR>          folder",
		"total 12",
	} {
		f.Add(s)
	}
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, line string) {
		e, err := parseLISTLine(line, now, time.UTC)
		if err != nil {
			return
		}
		if e.kind == kindFile && (e.name == "" || e.size < 0 || e.mtime.IsZero() || e.res <= 0) {
			t.Fatalf("%q: %+v", line, e)
		}
	})
}

func TestParseLISTLine(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	for _, tc := range []struct {
		line string
		loc  *time.Location
		want entry
	}{
		{"-rw-r--r--    1 1001     1001           12 Jan 02 15:04 a.txt", time.UTC,
			entry{name: "a.txt", kind: kindFile, size: 12, mtime: time.Date(2024, 1, 2, 15, 4, 0, 0, time.UTC), res: time.Minute}},
		{"-rw-r--r--    1 1001     1001           12 Dec 02 15:04 last year.txt", time.UTC, // in the future this year: last year
			entry{name: "last year.txt", kind: kindFile, size: 12, mtime: time.Date(2023, 12, 2, 15, 4, 0, 0, time.UTC), res: time.Minute}},
		{"-rw-r--r--    1 1001     1001           12 Jan 02  2020 old.txt", tokyo,
			entry{name: "old.txt", kind: kindFile, size: 12, mtime: time.Date(2020, 1, 2, 0, 0, 0, 0, tokyo), res: 24 * time.Hour}},
		{"drwxr-xr-x    2 0        0            4096 May 31 23:59 sub", time.UTC,
			entry{name: "sub", kind: kindDir, size: 4096, mtime: time.Date(2024, 5, 31, 23, 59, 0, 0, time.UTC), res: time.Minute}},
		{"-rw-r--r-- 1 owner 5 Mar 01 10:00 nogroup", time.UTC,
			entry{name: "nogroup", kind: kindFile, size: 5, mtime: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC), res: time.Minute}},
		{"01-02-24  03:04PM                 1234 win file.txt", time.UTC,
			entry{name: "win file.txt", kind: kindFile, size: 1234, mtime: time.Date(2024, 1, 2, 15, 4, 0, 0, time.UTC), res: time.Minute}},
	} {
		got, err := parseLISTLine(tc.line, now, tc.loc)
		if err != nil {
			t.Fatalf("%q: %v", tc.line, err)
		}
		if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(entry{})); d != "" {
			t.Errorf("%q (-want +got):\n%s", tc.line, d)
		}
	}
}

// FuzzParseMLSDLine: never panics; a file it accepts has a size and an
// exact time.
func FuzzParseMLSDLine(f *testing.F) {
	for _, s := range []string{
		"type=file;size=12;modify=20240102150405;perm=r; a.txt",
		"type=file;size=12;modify=20240102150405.123;UNIX.mode=0644; with space.txt",
		"type=cdir;modify=20240102150405; .",
		"type=OS.unix=symlink;size=3;modify=20240102150405; l",
		"Type=File;Size=1;Modify=20240102150405; upper",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		e, err := parseMLSDLine(line)
		if err != nil {
			return
		}
		if e.kind == kindFile && (e.size < 0 || e.mtime.IsZero() || !e.exact || e.name == "") {
			t.Fatalf("%q: %+v", line, e)
		}
	})
}

// FuzzCSVRoundTrip writes fuzzed fields with encoding/csv and reads them
// back with the connector's reader, through a small buffer: the fields
// come back as written, and positions end at the end of the input.
func FuzzCSVRoundTrip(f *testing.F) {
	f.Add([]byte("a\x00b,c\x00\"q\"\x00multi\nline"), uint8(2))
	f.Add([]byte("\x00\x00"), uint8(3))
	f.Add([]byte("x"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, width uint8) {
		n := int(width%5) + 1
		fields := strings.Split(string(data), "\x00")
		var rows [][]string
		for len(fields) > 0 {
			row := fields[:min(n, len(fields))]
			fields = fields[len(row):]
			if len(row) == 1 && row[0] == "" {
				continue // an empty line, which readers skip
			}
			rows = append(rows, row)
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		if err := w.WriteAll(rows); err != nil {
			return
		}
		s := newLineScanner(bytes.NewReader(buf.Bytes()), 16, 1<<20, 0, 0)
		r := &csvReader{s: s, delim: ',', quote: '"'}
		var got [][]string
		for {
			fs, _, err := r.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%q: %v", buf.Bytes(), err)
			}
			row := make([]string, len(fs))
			for i, f := range fs {
				row[i] = string(f)
			}
			got = append(got, row)
		}
		if d := cmp.Diff(rows, got); d != "" {
			t.Fatalf("%q read back differently (-written +read):\n%s", buf.Bytes(), d)
		}
		if s.pos != int64(buf.Len()) {
			t.Fatalf("position %d after %d bytes", s.pos, buf.Len())
		}
	})
}

// FuzzCSVReader: any input either parses or fails with a parse error;
// it never panics.
func FuzzCSVReader(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "\"unterminated\n", "\"a\"b,c\n", "a;b\r\n'x;y';z\r\n", "\n\n\"\"\"\"\n"} {
		f.Add([]byte(s), byte(','), byte('"'))
	}
	f.Fuzz(func(t *testing.T, data []byte, delim, quote byte) {
		if delim == quote || delim == '\n' || quote == '\n' {
			return
		}
		r := &csvReader{s: newLineScanner(bytes.NewReader(data), 16, 64, 0, 0), delim: delim, quote: quote}
		for {
			_, _, err := r.next()
			if err == io.EOF {
				return
			}
			var tl *errTooLong
			if errors.Is(err, errParse) || errors.As(err, &tl) {
				return
			}
			if err != nil {
				t.Fatalf("%q: unexpected error %v", data, err)
			}
		}
	})
}

// FuzzLineScanner: the lines returned are the input, in order; the
// position and the line count follow them.
func FuzzLineScanner(f *testing.F) {
	f.Add([]byte("a\nb\r\n\nlast"))
	f.Add([]byte(strings.Repeat("x", 40) + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newLineScanner(bytes.NewReader(data), 16, 1<<20, 0, 0)
		var all []byte
		for {
			b, err := s.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		if !bytes.Equal(all, data) || s.pos != int64(len(data)) || s.line != int64(bytes.Count(data, []byte("\n"))) {
			t.Fatalf("read %q (pos %d, lines %d) from %q", all, s.pos, s.line, data)
		}
	})
}

// FuzzSFTPNames decodes fuzzed NAME packet bodies: never a panic.
func FuzzSFTPNames(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0x0d, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0x81, 0xa4, 0, 0, 0, 1, 0, 0, 0, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &reader{b: b}
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			r.str()
			r.str()
			r.attrs()
		}
	})
}
