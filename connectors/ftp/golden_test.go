package ftp

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/connecttest"
	"github.com/connectd/connectd/framework/plugin"
)

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// formatCase is one connector configuration and the files it reads.
type formatCase struct {
	name  string
	files map[string][]byte
	kv    []string
}

func formatCases(t *testing.T) []formatCase {
	return []formatCase{
		{name: "lines", files: map[string][]byte{
			"a.txt":     []byte("first\r\nsecond\n\nünïcode ✓\nno newline at the end"),
			"b.txt.gz":  gz(t, []byte("gzipped 1\ngzipped 2\n")),
			"bom.txt":   []byte("\xEF\xBB\xBFafter a byte order mark\n"),
			"bad.txt":   []byte("invalid \xff UTF-8\n"),
			"empty.txt": nil,
		}},
		{name: "latin1", files: map[string][]byte{
			"l.txt": []byte("caf\xe9 cr\xe8me\n"),
		}},
		{name: "csv", kv: []string{FormatKey, FormatCSV, KeyModeKey, KeyField, KeyFieldKey, "id"}, files: map[string][]byte{
			"a.csv": []byte("id,name,price,active,day,at,note\r\n" +
				"1,plain,1.50,true,2024-02-29,2024-02-29T13:14:15Z,\r\n" +
				"2,\"with, comma\",2,false,,,\"two\nlines\"\r\n" +
				"3,\"a \"\"quote\"\"\",0.05,,2023-01-01,2023-01-01T00:00:00.5+02:00,\"\"\r\n"),
			"b.csv.gz": gz(t, []byte("id,name,price,active,day,at,note\n7,zipped,7.00,true,,,\n")),
		}},
		{name: "csv-semicolon", kv: []string{FormatKey, FormatCSV, CSVDelimiterKey, ";", CSVQuoteKey, "'", CSVHeaderKey, "false"}, files: map[string][]byte{
			"s.csv": []byte("x;'y;z';'it''s'\n1;2;3\n"),
		}},
		{name: "jsonl", kv: []string{FormatKey, FormatJSONL, KeyModeKey, KeyField, KeyFieldKey, "id"}, files: map[string][]byte{
			"a.jsonl": []byte("{\"id\":1,\"n\":2.5,\"tags\":[\"a\",\"b\"],\"o\":{\"x\":null}}\n\n  {\"id\":\"two\",\"big\":9007199254740993}\n[1,2]\n\"just a string\"\n"),
		}},
		{name: "bytes", kv: []string{FormatKey, FormatBytes, TopicKey, "raw-${file.base}", KeyModeKey, KeyPath}, files: map[string][]byte{
			"x.bin":    {0, 1, 2, 0xff},
			"y.bin.gz": gz(t, []byte("unzipped")),
		}},
	}
}

// TestGoldenFormats reads files of every format from every server through
// the plugin's in-process client with the JsonConverter (schemas on), and
// checks the records (topic, key, value, headers) against
// testdata/<case>.golden: every server gives the same records.
func TestGoldenFormats(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *server) {
		for _, fc := range formatCases(t) {
			t.Run(fc.name, func(t *testing.T) {
				dir := "/" + fc.name
				var names []string
				for name, data := range fc.files {
					s.write(t, dir+"/"+name, data, fixedTime)
					names = append(names, name)
				}
				kv := append([]string{InputPathKey, dir, SortKey, SortName,
					"key.converter", "org.apache.kafka.connect.json.JsonConverter",
					"value.converter", "org.apache.kafka.connect.json.JsonConverter"}, fc.kv...)
				if fc.name == "latin1" {
					kv = append(kv, EncodingKey, "ISO-8859-1")
				}
				if fc.name == "csv" {
					kv = append(kv, CSVTypesKey, "id:int64,price:decimal(2),active:boolean,day:date,at:timestamp")
				}
				got := pollAll(t, s.config(kv...), len(names))
				if s.kind == serverKinds[0] || !*update {
					connecttest.CheckGolden(t, fc.name+".golden", got, *update)
				}
			})
		}
	})
}

// pollAll runs a task through the in-process plugin client until files
// files were read and returns its records, one per line.
func pollAll(t *testing.T, cfg map[string]string, files int) string {
	t.Helper()
	ctx := context.Background()
	c := plugin.NewLocal(testPlugin)
	defer c.Close()
	if err := c.SourceStart(ctx, cfg, nil); err != nil {
		t.Fatal(err)
	}
	defer c.SourceStop(ctx)
	var out []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		prog, _ := c.TaskProgress(ctx)
		done, _ := prog["files_done"].(float64)
		if int(done) == files {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v files read after 30s, want %d; progress %v", done, files, prog)
		}
		recs, err := c.SourcePoll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Err != nil {
				t.Fatalf("record failed: %v", r.Err)
			}
			var hs []string
			for _, h := range r.Headers {
				hs = append(hs, h.Key+"="+string(h.Value))
			}
			out = append(out, fmt.Sprintf("topic=%s key=%s value=%s headers=[%s]", r.Topic, r.Key, r.Value, strings.Join(hs, " ")))
		}
	}
	return strings.Join(out, "\n") + "\n"
}
