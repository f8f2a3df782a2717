package configprovider

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFindPlaceholders(t *testing.T) {
	t.Parallel()
	type ph = Placeholder
	tests := map[string]struct {
		in   string
		want []Placeholder
	}{
		"none":             {in: "plain value"},
		"empty":            {in: ""},
		"provider and key": {in: "${env:HOME}", want: []ph{{Provider: "env", Key: "HOME", Start: 0, End: 11}}},
		"with path": {in: "${file:/etc/s.properties:pw}",
			want: []ph{{Provider: "file", Path: "/etc/s.properties", Key: "pw", Start: 0, End: 28}}},
		"empty path written out": {in: "${file::pw}", want: []ph{{Provider: "file", Key: "pw", Start: 0, End: 11}}},
		"empty key":              {in: "${a:}", want: []ph{{Provider: "a", Start: 0, End: 5}}},
		"empty provider":         {in: "${:k}", want: []ph{{Key: "k", Start: 0, End: 5}}},
		"all empty":              {in: "${::}", want: []ph{{Start: 0, End: 5}}},
		"key keeps later colons": {in: "${file:/p:db:url}", want: []ph{{Provider: "file", Path: "/p", Key: "db:url", Start: 0, End: 17}}},
		"several in one value": {in: "jdbc:postgresql://${env:HOST}:${env:PORT}/${file:/s:db}?x=1",
			want: []ph{
				{Provider: "env", Key: "HOST", Start: 18, End: 29},
				{Provider: "env", Key: "PORT", Start: 30, End: 41},
				{Provider: "file", Path: "/s", Key: "db", Start: 42, End: 55},
			}},
		"adjacent":                      {in: "${a:b}${c:d}", want: []ph{{Provider: "a", Key: "b", Start: 0, End: 6}, {Provider: "c", Key: "d", Start: 6, End: 12}}},
		"no colon is not a placeholder": {in: "${HOME} and ${x}"},
		"unclosed":                      {in: "${env:HOME"},
		"unclosed after one":            {in: "${a:b} ${env:HOME", want: []ph{{Provider: "a", Key: "b", Start: 0, End: 6}}},
		"dollar alone":                  {in: "$ {a:b} $a:b}"},
		"nested closes at the first brace": {in: "${a:${b:c}}",
			want: []ph{{Provider: "a", Path: "${b", Key: "c", Start: 0, End: 10}}},
		"open brace in provider": {in: "${a${b:c}", want: []ph{{Provider: "a${b", Key: "c", Start: 0, End: 9}}},
		"first opening has no colon before its brace": {in: "${x} ${y:z}",
			want: []ph{{Provider: "y", Key: "z", Start: 5, End: 11}}},
		"inner opening after a colon-less one": {in: "${x${y:z}",
			want: []ph{{Provider: "x${y", Key: "z", Start: 0, End: 9}}},
		"brace before colon": {in: "${a}b:c}"},
		"double dollar":      {in: "$${a:b}", want: []ph{{Provider: "a", Key: "b", Start: 1, End: 7}}},
		"multibyte":          {in: "ü${env:ÄÖ}ü", want: []ph{{Provider: "env", Key: "ÄÖ", Start: 2, End: 13}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := FindPlaceholders(tc.in)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("FindPlaceholders(%q) (-want +got):\n%s", tc.in, d)
			}
			if d := cmp.Diff(kafkaPattern(tc.in), got); d != "" {
				t.Errorf("FindPlaceholders(%q) differs from Kafka's pattern (-kafka +got):\n%s", tc.in, d)
			}
		})
	}
}

func TestHasPlaceholders(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		config map[string]string
		want   bool
	}{
		"nil":                 {nil, false},
		"plain":               {map[string]string{"a": "b", "c": "$d {e}"}, false},
		"no colon":            {map[string]string{"a": "${b}"}, false},
		"in a value":          {map[string]string{"a": "b", "c": "x${env:Y}z"}, true},
		"unknown provider":    {map[string]string{"a": "${nope:x}"}, true},
		"only in a key":       {map[string]string{"${env:X}": "v"}, false},
		"unclosed":            {map[string]string{"a": "${env:X"}, false},
		"one among many keys": {map[string]string{"a": "1", "b": "2", "c": "${file:/p:k}"}, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := HasPlaceholders(tc.config); got != tc.want {
				t.Errorf("HasPlaceholders(%v) = %v, want %v", tc.config, got, tc.want)
			}
		})
	}
}

// kafkaRE is ConfigTransformer.DEFAULT_PATTERN. Go's regexp picks
// submatches leftmost-first, as Java's does, so it finds what Kafka finds.
var kafkaRE = regexp.MustCompile(`\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}`)

// kafkaPattern finds placeholders with Kafka's own pattern, as the oracle
// that FindPlaceholders is checked against.
func kafkaPattern(s string) []Placeholder {
	var out []Placeholder
	for _, m := range kafkaRE.FindAllStringSubmatchIndex(s, -1) {
		p := Placeholder{Provider: s[m[2]:m[3]], Key: s[m[8]:m[9]], Start: m[0], End: m[1]}
		if m[6] >= 0 {
			p.Path = s[m[6]:m[7]]
		}
		out = append(out, p)
	}
	return out
}

func FuzzFindPlaceholders(f *testing.F) {
	for _, s := range []string{"", "${env:X}", "${file:/p:k}", "a${b:c}d${e:f:g:h}i", "${a:${b:c}}", "${x${y:z}", "${", "}", "${:}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := FindPlaceholders(s)
		if d := cmp.Diff(kafkaPattern(s), got); d != "" {
			t.Fatalf("FindPlaceholders(%q) differs from Kafka's pattern (-kafka +got):\n%s", s, d)
		}
		last := 0
		for _, p := range got {
			if p.Start < last || p.End <= p.Start || p.End > len(s) {
				t.Fatalf("FindPlaceholders(%q): span [%d,%d) out of order or range", s, p.Start, p.End)
			}
			text := s[p.Start:p.End]
			if strings.ContainsRune(p.Provider+p.Path+p.Key, '}') || strings.Contains(p.Provider+p.Path, ":") {
				t.Fatalf("FindPlaceholders(%q): %+v has a '}' or a ':' where none can be", s, p)
			}
			// The parts account for the whole text.
			rebuilt := "${" + p.Provider + ":" + p.Key + "}"
			if p.Path != "" || strings.Count(text, ":") > strings.Count(p.Key, ":")+1 {
				rebuilt = "${" + p.Provider + ":" + p.Path + ":" + p.Key + "}"
			}
			if rebuilt != text {
				t.Fatalf("FindPlaceholders(%q): %+v rebuilds as %q, not %q", s, p, rebuilt, text)
			}
			// A placeholder found alone is found the same.
			alone := FindPlaceholders(text)
			if len(alone) != 1 || alone[0].Provider != p.Provider || alone[0].Path != p.Path || alone[0].Key != p.Key {
				t.Fatalf("FindPlaceholders(%q) = %+v, want just %+v", text, alone, p)
			}
			last = p.End
		}
		if HasPlaceholders(map[string]string{"k": s}) != (len(got) > 0) {
			t.Fatalf("HasPlaceholders(%q) disagrees with FindPlaceholders", s)
		}
	})
}
