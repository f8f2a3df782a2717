package properties

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The cases follow the examples and rules of java.util.Properties.load's
// documentation.
func TestParse(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   string
		want map[string]string
	}{
		"separators": {
			in:   "Truth = Beauty\n  Truth:Beauty\nTruth                    :Beauty\n",
			want: map[string]string{"Truth": "Beauty"},
		},
		"whitespace separator": {
			in:   "a b c\n",
			want: map[string]string{"a": "b c"},
		},
		"continuation drops the next line's leading whitespace": {
			in:   "fruits                           apple, banana, pear, \\\n                                  cantaloupe, watermelon, \\\n                                  kiwi, mango\n",
			want: map[string]string{"fruits": "apple, banana, pear, cantaloupe, watermelon, kiwi, mango"},
		},
		"key alone": {
			in:   "cheeses\n",
			want: map[string]string{"cheeses": ""},
		},
		"comments and blank lines": {
			in:   "# a comment\n! another\n   # indented comment\n\n \t \nk=v\n",
			want: map[string]string{"k": "v"},
		},
		"a comment line does not continue": {
			in:   "# comment \\\nk=v\n",
			want: map[string]string{"k": "v"},
		},
		"even trailing backslashes are an escaped backslash": {
			in:   "k=a\\\\\nn=m\n",
			want: map[string]string{"k": `a\`, "n": "m"},
		},
		"escapes in keys and values": {
			in:   "a\\=b=c\\td\\u0041\\x\n",
			want: map[string]string{"a=b": "c\tdAx"},
		},
		"last value wins": {
			in:   "k=1\nk=2\n",
			want: map[string]string{"k": "2"},
		},
		"trailing whitespace is kept": {
			in:   "k=v  \n",
			want: map[string]string{"k": "v  "},
		},
		"CRLF line ends": {
			in:   "a=1\r\nb=2\r\n",
			want: map[string]string{"a": "1", "b": "2"},
		},
		"continuation at end of input": {
			in:   "k=v\\",
			want: map[string]string{"k": "v"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tc.in, d)
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.properties")
	if err := os.WriteFile(path, []byte("user=alice\npassword=s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"user": "alice", "password": "s3cr3t"}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.properties")); !os.IsNotExist(err) {
		t.Errorf("ReadFile of a missing file: err = %v, want a not-exist error", err)
	}
}
