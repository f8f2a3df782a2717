package group

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// hexBytes reads hex with spaces and "|" separators, and 'quoted' ASCII.
func hexBytes(t *testing.T, s string) []byte {
	t.Helper()
	var out []byte
	for _, f := range strings.Fields(strings.ReplaceAll(s, "|", " ")) {
		if strings.HasPrefix(f, "'") && strings.HasSuffix(f, "'") && len(f) >= 2 {
			out = append(out, f[1:len(f)-1]...)
			continue
		}
		b, err := hex.DecodeString(f)
		if err != nil {
			t.Fatalf("bad hex %q: %v", f, err)
		}
		out = append(out, b...)
	}
	return out
}

var cmpWork = cmpopts.EquateEmpty()

// The layouts below are written out by hand from Kafka Connect's schemas
// (ConnectProtocol.CONFIG_STATE_V0, CONNECTOR_ASSIGNMENT_V0;
// IncrementalCooperativeConnectProtocol.ALLOCATION_V1, ASSIGNMENT_V1):
// INT16/INT32/INT64 big-endian, STRING = INT16 length + bytes, ARRAY = INT32
// count (-1 null), NULLABLE_BYTES = INT32 length (-1 null).
func TestEncodeAssignmentLayout(t *testing.T) {
	t.Parallel()
	a := wireAssignment{
		Version: 1, Error: 0, Leader: "m1", LeaderURL: "u", ConfigOffset: 7,
		Assigned: work{Connectors: []string{"c1"}, Tasks: []TaskID{{"c2", 1}, {"c1", 0}}},
		Revoked:  work{Tasks: []TaskID{{"c1", 2}}},
		Delay:    1500 * time.Millisecond,
	}
	want := hexBytes(t, stripComments(`
		0001 | 0000 | 0002 'm1' | 0001 'u' | 0000000000000007
		00000002                                 # assignment: 2 connectors
		  0002 'c1' 00000002 ffffffff 00000000   # c1: the connector (-1), task 0
		  0002 'c2' 00000001 00000001            # c2: task 1
		00000001                                 # revoked: 1 connector
		  0002 'c1' 00000001 00000002            # c1: task 2
		000005dc                                 # delay 1500 ms
	`))
	got := encodeAssignment(a)
	if !bytes.Equal(got, want) {
		t.Fatalf("encodeAssignment:\n got %x\nwant %x", got, want)
	}
	back, err := decodeAssignment(want)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(a.normalized(), back, cmpWork); d != "" {
		t.Errorf("decode (-want +got):\n%s", d)
	}
}

func TestEncodeMetadataLayout(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		md   wireMetadata
		want string
	}{
		"no allocation yet": {
			md:   wireMetadata{Version: 2, URL: "http://w1:8083", ConfigOffset: 5},
			want: `0002 | 000e 'http://w1:8083' | 0000000000000005 | ffffffff`,
		},
		"with allocation": {
			md: wireMetadata{Version: 1, URL: "u1", ConfigOffset: -1, Allocation: &wireAssignment{
				Version: 1, Leader: "L", LeaderURL: "lu", ConfigOffset: 3,
				Assigned: work{Tasks: []TaskID{{"a", 0}}},
			}},
			want: `0001 | 0002 'u1' | ffffffffffffffff
				0000002a                              # allocation: 42 bytes
				0001 0000 0001 'L' 0002 'lu' 0000000000000003
				00000001 0001 'a' 00000001 00000000   # assignment: a-0
				00000000                              # revoked: none
				00000000                              # delay 0`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := hexBytes(t, stripComments(tc.want))
			got := encodeMetadata(tc.md)
			if !bytes.Equal(got, want) {
				t.Fatalf("encodeMetadata:\n got %x\nwant %x", got, want)
			}
			back, err := decodeMetadata(want)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.md, back, cmpWork); d != "" {
				t.Errorf("decode (-want +got):\n%s", d)
			}
		})
	}
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
		b.WriteString("\n")
	}
	return b.String()
}

// Kafka reads fields missing at the end with their defaults (version 0
// layouts have no revoked list, delay or allocation), nullable arrays may
// be null, and Kafka's writer may list a connector's tasks in any order and
// under several entries.
func TestDecodeKafkaVariants(t *testing.T) {
	t.Parallel()
	assignments := map[string]struct {
		in   string
		want wireAssignment
	}{
		"version 0 (eager): no revoked, no delay": {
			in: `0000 0000 0001 'L' 0001 'u' 0000000000000009
				00000001 0001 'c' 00000002 ffffffff 00000003`,
			want: wireAssignment{Version: 0, Leader: "L", LeaderURL: "u", ConfigOffset: 9,
				Assigned: work{Connectors: []string{"c"}, Tasks: []TaskID{{"c", 3}}}},
		},
		"null arrays": {
			in:   `0001 0001 0001 'L' 0001 'u' 0000000000000009 ffffffff ffffffff 00000000`,
			want: wireAssignment{Version: 1, Error: 1, Leader: "L", LeaderURL: "u", ConfigOffset: 9},
		},
		"version 1 without delay": {
			in: `0001 0000 0001 'L' 0001 'u' 0000000000000001 00000000
				00000001 0001 'x' 00000001 ffffffff`,
			want: wireAssignment{Version: 1, Leader: "L", LeaderURL: "u", ConfigOffset: 1,
				Revoked: work{Connectors: []string{"x"}}},
		},
		"tasks out of order, one connector in two entries": {
			in: `0002 0000 0001 'L' 0001 'u' 0000000000000001
				00000002
				  0001 'b' 00000002 00000002 00000000
				  0001 'b' 00000001 ffffffff
				00000000 00000064`,
			want: wireAssignment{Version: 2, Leader: "L", LeaderURL: "u", ConfigOffset: 1,
				Assigned: work{Connectors: []string{"b"}, Tasks: []TaskID{{"b", 0}, {"b", 2}}},
				Delay:    100 * time.Millisecond},
		},
		"negative delay means none": {
			in:   `0001 0000 0001 'L' 0001 'u' 0000000000000001 00000000 00000000 ffffff9c`,
			want: wireAssignment{Version: 1, Leader: "L", LeaderURL: "u", ConfigOffset: 1},
		},
	}
	for name, tc := range assignments {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeAssignment(hexBytes(t, tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got, cmpWork); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}

	t.Run("metadata version 0 has no allocation", func(t *testing.T) {
		t.Parallel()
		got, err := decodeMetadata(hexBytes(t, `0000 0001 'u' 0000000000000004`))
		if err != nil {
			t.Fatal(err)
		}
		want := wireMetadata{Version: 0, URL: "u", ConfigOffset: 4}
		if d := cmp.Diff(want, got, cmpWork); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in       string
		metadata bool
		want     string
	}{
		"assignment ends inside leader":  {in: `0001 0000 0005 'ab'`, want: "ends early"},
		"assignment negative version":    {in: `ffff 0000`, want: "unsupported version -1"},
		"assignment negative string":     {in: `0001 0000 fffe`, want: "negative"},
		"assignment task count too big":  {in: `0001 0000 0001 'L' 0001 'u' 0000000000000001 00000001 0001 'c' 7fffffff`, want: "does not fit"},
		"assignment bad task number":     {in: `0001 0000 0001 'L' 0001 'u' 0000000000000001 00000001 0001 'c' 00000001 fffffffe`, want: "task number -2"},
		"assignment negative array":      {in: `0001 0000 0001 'L' 0001 'u' 0000000000000001 fffffffe`, want: "negative"},
		"metadata ends inside offset":    {in: `0001 0001 'u' 0000`, metadata: true, want: "ends early"},
		"metadata allocation too long":   {in: `0001 0001 'u' 0000000000000001 00000010 0001`, metadata: true, want: "ends early"},
		"metadata allocation is garbage": {in: `0001 0001 'u' 0000000000000001 00000002 ffff`, metadata: true, want: "allocation"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var err error
			if tc.metadata {
				_, err = decodeMetadata(hexBytes(t, tc.in))
			} else {
				_, err = decodeAssignment(hexBytes(t, tc.in))
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	as := []wireAssignment{
		{},
		{Version: 2, Error: ErrConfigMismatch, Leader: "connect-1-6f0c", LeaderURL: "http://10.0.0.1:8083/", ConfigOffset: 1 << 40},
		{Version: 1, Leader: "L", LeaderURL: "u", ConfigOffset: -1,
			Assigned: work{Connectors: []string{"a", "b", "ü"}, Tasks: []TaskID{{"a", 0}, {"a", 1}, {"z", 9}}},
			Revoked:  work{Connectors: []string{"q"}, Tasks: []TaskID{{"q", 4}}},
			Delay:    300 * time.Second},
	}
	for _, a := range as {
		got, err := decodeAssignment(encodeAssignment(a))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(a.normalized(), got, cmpWork); d != "" {
			t.Errorf("assignment round trip (-want +got):\n%s", d)
		}
		for _, alloc := range []*wireAssignment{nil, &a} {
			md := wireMetadata{Version: 2, URL: "http://w:1", ConfigOffset: 12, Allocation: alloc}
			got, err := decodeMetadata(encodeMetadata(md))
			if err != nil {
				t.Fatal(err)
			}
			if alloc != nil {
				n := alloc.normalized()
				md.Allocation = &n
			}
			if d := cmp.Diff(md, got, cmpWork); d != "" {
				t.Errorf("metadata round trip (-want +got):\n%s", d)
			}
		}
	}
}

func TestDelayMillis(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]int32{
		-time.Second:            0,
		0:                       0,
		time.Microsecond:        1,
		1500 * time.Microsecond: 2,
		time.Hour:               3600000,
		1 << 62:                 1<<31 - 1,
	} {
		if got := delayMillis(d); got != want {
			t.Errorf("delayMillis(%v) = %d, want %d", d, got, want)
		}
	}
}

func FuzzDecodeAssignment(f *testing.F) {
	f.Add(encodeAssignment(wireAssignment{Version: 1, Leader: "L", Assigned: work{Connectors: []string{"c"}, Tasks: []TaskID{{"c", 0}}}}))
	f.Add([]byte{0, 0, 0, 0, 0, 1, 'L', 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeAssignment(b)
		if err != nil {
			return
		}
		again, err := decodeAssignment(encodeAssignment(a))
		if err != nil {
			t.Fatalf("re-decoding an encoded assignment: %v", err)
		}
		if d := cmp.Diff(a, again, cmpWork); d != "" {
			t.Fatalf("not stable (-first +second):\n%s", d)
		}
	})
}

func FuzzDecodeMetadata(f *testing.F) {
	f.Add(encodeMetadata(wireMetadata{Version: 2, URL: "u", ConfigOffset: 3, Allocation: &wireAssignment{Version: 2}}))
	f.Add(encodeMetadata(wireMetadata{Version: 1, URL: "u"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		md, err := decodeMetadata(b)
		if err != nil {
			return
		}
		again, err := decodeMetadata(encodeMetadata(md))
		if err != nil {
			t.Fatalf("re-decoding encoded metadata: %v", err)
		}
		if d := cmp.Diff(md, again, cmpWork); d != "" {
			t.Fatalf("not stable (-first +second):\n%s", d)
		}
	})
}
