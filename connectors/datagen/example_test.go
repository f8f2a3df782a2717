package datagen_test

import (
	"context"
	"fmt"

	"github.com/connectd/connectd/connectors/datagen"
)

// ExampleNewSource drives a datagen source the way the framework does:
// start the connector, split the work, then start a task and poll it.
func ExampleNewSource() {
	ctx := context.Background()
	connector := datagen.NewSource()
	err := connector.Start(ctx, map[string]string{
		"topic":       "demo",
		"count":       "4",
		"schema":      "string",
		"record.size": "0",
		"key.mode":    "sequence",
	})
	if err != nil {
		panic(err)
	}
	defer connector.Stop(ctx)

	configs, err := connector.TaskConfigs(ctx, 2)
	if err != nil {
		panic(err)
	}
	task := connector.NewTask()
	if err := task.Start(ctx, configs[1], nil); err != nil {
		panic(err)
	}
	defer task.Stop(ctx)

	recs, err := task.Poll(ctx)
	if err != nil {
		panic(err)
	}
	for _, r := range recs {
		fmt.Println(r.Topic, r.Key, r.Value, r.SourcePartition, r.SourceOffset)
	}
	// A bounded task that is done polls empty, and says so.
	recs, _ = task.Poll(ctx)
	fmt.Println(len(recs), task.(interface{ Done() bool }).Done())
	// Output:
	// demo 1 {"id":1,"task":1,"seq":0,"payload":""} map[task:1] map[seq:0]
	// demo 3 {"id":3,"task":1,"seq":1,"payload":""} map[task:1] map[seq:1]
	// 0 true
}
