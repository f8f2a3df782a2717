package postgrescdc

import (
	"encoding/hex"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// javaObjectArrayHex is what java.io.ObjectOutputStream (OpenJDK 17) wrote
// for new Object[]{1, 2L, "aé", (short) 3, true, null, 4}: the form of
// Debezium's incremental_snapshot_primary_key before hex encoding.
const javaObjectArrayHex = "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000007737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b0200007870000000017372000e6a6176612e6c616e672e4c6f6e673b8be490cc8f23df0200014a000576616c75657871007e0003000000000000000274000361c3a97372000f6a6176612e6c616e672e53686f7274684d37133460da5202000153000576616c75657871007e00030003737200116a6176612e6c616e672e426f6f6c65616ecd207280d59cfaee0200015a000576616c7565787001707371007e000200000004"

func TestJavaObjectArray(t *testing.T) {
	t.Parallel()
	vals := []any{int32(1), int64(2), "aé", int16(3), true, nil, int32(4)}
	got, err := encodeJavaArray(vals)
	if err != nil {
		t.Fatal(err)
	}
	if h := hex.EncodeToString(got); h != javaObjectArrayHex {
		t.Fatalf("encoded\n%s\nwant what Java writes\n%s", h, javaObjectArrayHex)
	}
	want, _ := hex.DecodeString(javaObjectArrayHex)
	back, err := decodeJavaArray(want)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(vals, back); d != "" {
		t.Fatalf("decoded (-want +got):\n%s", d)
	}
	// Java writes a repeated object as a back reference.
	ref, _ := hex.DecodeString("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c0200007870000000027400016171007e0002")
	back, err = decodeJavaArray(ref)
	if err != nil || cmp.Diff([]any{"a", "a"}, back) != "" {
		t.Fatalf("decoded %v %v, want [a a]", back, err)
	}
	null, _ := encodeJavaArray(nil)
	if hex.EncodeToString(null) != "aced000570" {
		t.Fatalf("null array: %x", null)
	}
	if v, err := decodeJavaArray(null); v != nil || err != nil {
		t.Fatalf("null array read back as %v %v", v, err)
	}
	for _, bad := range []string{"", "aced", "aced0005", "aced000575", "0000000570", javaObjectArrayHex[:100]} {
		b, _ := hex.DecodeString(bad)
		if v, err := decodeJavaArray(b); err == nil {
			t.Errorf("decode %q = %v, want an error", bad, v)
		}
	}
}

func FuzzDecodeJavaArray(f *testing.F) {
	b, _ := hex.DecodeString(javaObjectArrayHex)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeJavaArray(b)
	})
}
