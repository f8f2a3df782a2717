package converters

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/connectd/connectd/framework/connect"
)

// jacksonString is appendString written the plain way, a rune at a time:
// the reference its word-at-a-time skipping must agree with.
func jacksonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString("\uFFFD")
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// TestAppendStringEveryByteEverywhere puts each of the 256 byte values at
// each place of a word (and past the last whole word) in runs of plain
// text, and random mixes of plain, escaped, multi-byte and invalid bytes,
// and checks appendString against the rune-at-a-time reference.
func TestAppendStringEveryByteEverywhere(t *testing.T) {
	t.Parallel()
	check := func(s string) {
		t.Helper()
		if got, want := string(appendString([]byte("x"), s)), "x"+jacksonString(s); got != want {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
	for n := range 20 {
		for pos := range n {
			for c := range 256 {
				b := []byte(strings.Repeat("a", n))
				b[pos] = byte(c)
				check(string(b))
			}
		}
	}
	pieces := []string{"plain text", "é", "€", "😀", "\"", "\\", "\n", "\x00", "\x1f", "\x7f", "\xff", "\xe2\x82", "\uFFFD", "\u2028", "abcdefgh"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		check(b.String())
	}
}

// TestFieldPrefixesAcrossSchemas writes structs of many schemas, some
// nested, some with names that need escaping, in an order that keeps
// switching schema and outgrows an encoder's prefix cache, and checks each
// against the object written field by field.
func TestFieldPrefixesAcrossSchemas(t *testing.T) {
	t.Parallel()
	c := mustJSON(t, "schemas.enable", "false")
	names := []string{"id", `a"b`, "é", "line\nbreak", "x"}
	type tc struct {
		schema *connect.Schema
		value  *connect.StructValue
		want   string
	}
	var cases []tc
	for i := range 3 * maxPrefixSchemas {
		inner := connect.StructSchema().Field(fmt.Sprint("n", i), connect.Int32Schema).Build()
		b := connect.StructSchema()
		n := 1 + i%len(names)
		for j := range n {
			b = b.Field(fmt.Sprint(names[j], i), connect.Int64Schema)
		}
		nested := i%2 == 0 // and the others end with a plain field
		if nested {
			b = b.Field("inner", inner)
		}
		s := b.Build()
		v := connect.NewStruct(s)
		var want strings.Builder
		want.WriteByte('{')
		for j := range n {
			v.SetIndex(j, int64(i*10+j))
			if j > 0 {
				want.WriteByte(',')
			}
			fmt.Fprintf(&want, "%s:%d", jacksonString(fmt.Sprint(names[j], i)), i*10+j)
		}
		if nested {
			v.SetIndex(n, connect.NewStruct(inner).Put(fmt.Sprint("n", i), int32(i)))
			fmt.Fprintf(&want, `,"inner":{"n%d":%d}`, i, i)
		}
		want.WriteByte('}')
		cases = append(cases, tc{s, v, want.String()})
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		k := cases[rng.IntN(len(cases))]
		got, err := c.FromConnect("t", k.schema, k.value)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != k.want {
			t.Fatalf("got %s, want %s", got, k.want)
		}
	}
}
