package file_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/connectd/connectd/connectors/file"
	"github.com/connectd/connectd/framework/connect"
)

// ExampleNewSource reads the lines of a file the way the framework drives
// a source: start the connector, take its one task config, start the task
// and poll it. The partial last line waits for its newline.
func ExampleNewSource() {
	dir, err := os.MkdirTemp("", "file-source")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(path, []byte("hello\r\nworld\npartial"), 0o644); err != nil {
		panic(err)
	}

	ctx := context.Background()
	connector := file.NewSource()
	if err := connector.Start(ctx, map[string]string{"file": path, "topic": "lines"}); err != nil {
		panic(err)
	}
	defer connector.Stop(ctx)
	configs, err := connector.TaskConfigs(ctx, 1)
	if err != nil {
		panic(err)
	}
	task := connector.NewTask()
	if err := task.Start(ctx, configs[0], nil); err != nil {
		panic(err)
	}
	defer task.Stop(ctx)

	recs, err := task.Poll(ctx)
	if err != nil {
		panic(err)
	}
	for _, r := range recs {
		fmt.Printf("%s %q %v\n", r.Topic, r.Value, r.SourceOffset)
	}
	// Output:
	// lines "hello" map[position:7]
	// lines "world" map[position:13]
}

// ExampleNewSink appends record values to a file: Put buffers them, Flush
// makes them durable.
func ExampleNewSink() {
	dir, err := os.MkdirTemp("", "file-sink")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "out.txt")

	ctx := context.Background()
	connector := file.NewSink()
	if err := connector.Start(ctx, map[string]string{"file": path, "topics": "lines"}); err != nil {
		panic(err)
	}
	defer connector.Stop(ctx)
	configs, err := connector.TaskConfigs(ctx, 1)
	if err != nil {
		panic(err)
	}
	task := connector.NewTask()
	if err := task.Start(ctx, configs[0]); err != nil {
		panic(err)
	}
	defer task.Stop(ctx)

	schema := connect.StructSchema().Field("id", connect.Int64Schema).Field("name", connect.StringSchema).Build()
	err = task.Put(ctx, []*connect.Record{
		{Topic: "lines", Value: "a plain string"},
		{Topic: "lines", ValueSchema: schema, Value: connect.NewStruct(schema).Put("id", int64(1)).Put("name", "ada")},
		{Topic: "lines", Value: nil},
	})
	if err != nil {
		panic(err)
	}
	if err := task.Flush(ctx, map[connect.TopicPartition]int64{{Topic: "lines", Partition: 0}: 3}); err != nil {
		panic(err)
	}
	out, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	fmt.Print(string(out))
	// Output:
	// a plain string
	// {"id":1,"name":"ada"}
	// null
}
