package configprovider

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		secrets []string
		in      string
		want    string
	}{
		"no secrets":           {nil, "password=s3cret", "password=s3cret"},
		"empty secret":         {[]string{""}, "abc", "abc"},
		"one":                  {[]string{"s3cret"}, "password=s3cret", "password=" + Hidden},
		"every occurrence":     {[]string{"s3cret"}, "s3cret s3cret", Hidden + " " + Hidden},
		"several":              {[]string{"alice", "s3cret"}, "alice:s3cret@h", Hidden + ":" + Hidden + "@h"},
		"one inside another":   {[]string{"abc", "xabcx"}, "-xabcx-abc-", "-" + Hidden + "-" + Hidden + "-"},
		"overlapping two":      {[]string{"xab", "abcdef"}, "1xabcdef2", "1" + Hidden + "2"},
		"overlapping itself":   {[]string{"aa"}, "baaab", "b" + Hidden + "b"},
		"adjacent merge":       {[]string{"ab", "cd"}, "abcd", Hidden},
		"multibyte":            {[]string{"pässwört"}, "[pässwört]", "[" + Hidden + "]"},
		"not found":            {[]string{"s3cret"}, "nothing here", "nothing here"},
		"newline in secret":    {[]string{"key\n"}, "got key\nthen", "got " + Hidden + "then"},
		"the marker itself":    {[]string{"hidden"}, "[hidden]", "[" + Hidden + "]"},
		"whole text":           {[]string{"s"}, "s", Hidden},
		"secret longer than s": {[]string{"longer"}, "long", "long"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := NewRedactor(tc.secrets...)
			got := r.Redact(tc.in)
			if got != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
			for _, s := range tc.secrets {
				if s != "" && s != "hidden" && strings.Contains(got, s) {
					t.Errorf("Redact(%q) = %q still shows %q", tc.in, got, s)
				}
			}
		})
	}
}

func TestRedactorAdd(t *testing.T) {
	t.Parallel()
	var r Redactor // the zero value is ready
	if r.Len() != 0 || r.Redact("x") != "x" || r.Contains("x") {
		t.Fatal("the zero Redactor knows a secret")
	}
	r.Add("b", "a", "b", "")
	r.Add("a")
	if r.Len() != 2 {
		t.Errorf("Len = %d after adding a and b, want 2", r.Len())
	}
	if !r.Contains("xbx") || r.Contains("xyz") {
		t.Error("Contains disagrees with the secrets added")
	}
}

// TestRedactorConcurrent is for the race detector: Add and Redact at once.
func TestRedactorConcurrent(t *testing.T) {
	t.Parallel()
	r := &Redactor{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 200 {
				r.Add(fmt.Sprintf("<secret-%d-%d>", w, i))
			}
		}()
		go func() {
			defer wg.Done()
			for i := range 200 {
				s := fmt.Sprintf("x <secret-%d-%d> y", w, i)
				if got := r.Redact(s); got != s && got != "x "+Hidden+" y" {
					t.Errorf("Redact(%q) = %q", s, got)
					return
				}
			}
		}()
	}
	wg.Wait()
	if r.Len() != 800 {
		t.Errorf("Len = %d, want 800", r.Len())
	}
	if got := r.Redact("<secret-3-199>"); got != Hidden {
		t.Errorf("Redact after all Adds = %q, want %q", got, Hidden)
	}
}
