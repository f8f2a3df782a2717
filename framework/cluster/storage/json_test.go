package storage

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// TestAppendStringLikeJackson: strings are escaped as Kafka Connect's
// JsonConverter (Jackson) escapes them, which differs from encoding/json
// in HTML characters, U+2028/U+2029, \b, \f and the case of hex digits.
func TestAppendStringLikeJackson(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ in, want string }{
		"plain":         {"connector.class", `"connector.class"`},
		"quote, slash":  {`a"b\c/d`, `"a\"b\\c/d"`},
		"short escapes": {"\b\t\n\f\r", `"\b\t\n\f\r"`},
		"other control": {"\x00\x01\x1f\x7f", `"\u0000\u0001\u001F` + "\x7f" + `"`},
		"html as is":    {"<a href='x'>&</a>", `"<a href='x'>&</a>"`},
		"unicode as is": {"é ☃ \u2028\u2029 𝄞", "\"é ☃ \u2028\u2029 𝄞\""},
		"invalid utf-8": {"a\xffb", "\"a\uFFFDb\""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := string(appendString(nil, tc.in)); got != tc.want {
				t.Fatalf("appendString(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzAppendString: what appendString writes is JSON that reads back as
// the string (valid UTF-8 kept as is).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00\u2028", "a\xffb", "\\u0041"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var back string
		if err := json.Unmarshal(appendString(nil, s), &back); err != nil {
			t.Fatalf("appendString(%q) is not JSON: %v", s, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("appendString(%q) reads back as %q", s, back)
		}
	})
}
