package javaser

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestModifiedUTF8(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, s, hex string
	}{
		{"ascii", "abc", "616263"},
		{"nul", "a\x00b", "61c08062"},
		{"two bytes", "é", "c3a9"},
		{"beyond the BMP", "😀", "eda0bdedb880"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := EncodeModifiedUTF8(tc.s)
			if d := cmp.Diff(tc.hex, hex.EncodeToString(b)); d != "" {
				t.Fatalf("encoded (-want +got):\n%s", d)
			}
			s, err := DecodeModifiedUTF8(b)
			if err != nil || s != tc.s {
				t.Fatalf("decoded %q, %v; want %q", s, err, tc.s)
			}
		})
	}
}

// TestReader reads a class descriptor, a second one referring back to the
// first as its superclass, and refuses what it does not take.
func TestReader(t *testing.T) {
	t.Parallel()
	// java.lang.Number, then java.lang.Integer extending it by reference.
	b, _ := hex.DecodeString("aced0005" +
		"7200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b0200007870" +
		"7200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c756578" + "71007e0000")
	r, err := NewReader(b)
	if err != nil {
		t.Fatal(err)
	}
	num, err := r.ClassDesc()
	if err != nil {
		t.Fatal(err)
	}
	integer, err := r.ClassDesc()
	if err != nil {
		t.Fatal(err)
	}
	want := &Class{Name: "java.lang.Integer", Flags: SCSerializable, Fields: []byte{'I'}, Super: num}
	if d := cmp.Diff(want, integer); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	if r.Len() != 0 {
		t.Fatalf("%d bytes left", r.Len())
	}
	if _, err := r.U8(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("read past the end: %v", err)
	}
	if _, err := NewReader([]byte{0xAC, 0xED, 0, 4}); err == nil {
		t.Fatal("version 4 read")
	}
	bad, _ := hex.DecodeString("aced000571007e0005")
	r, _ = NewReader(bad)
	if _, err := r.ClassDesc(); err == nil {
		t.Fatal("a reference to an unknown handle read")
	}
}
