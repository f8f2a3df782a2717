package elasticsink_test

import (
	"context"
	"fmt"
	"sort"

	elasticsink "github.com/connectd/connectd/connectors/elastic-sink"
	"github.com/connectd/connectd/framework/connect"
)

// ExampleNewSink validates a configuration as Confluent's connector users
// post it, and splits it into tasks (the consumer group spreads the
// partitions over them). Validate reaches every node: one that does not
// answer comes back as a message on connection.url, and a rule across
// keys names each key at fault.
func ExampleNewSink() {
	ctx := context.Background()
	connector := elasticsink.NewSink()
	cfg := map[string]string{
		"connector.class":         elasticsink.ConfluentClass,
		"topics":                  "orders",
		"connection.url":          "http://127.0.0.1:1", // nothing listens here
		"key.ignore":              "false",
		"behavior.on.null.values": "delete",
	}
	v := connector.(connect.Validator)
	for key := range v.Validate(ctx, cfg) {
		fmt.Println("problem with:", key)
	}
	cfg["connection.username"] = "elastic" // without a password
	var keys []string
	for key := range v.Validate(ctx, cfg) {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	fmt.Println("problems with:", keys)
	delete(cfg, "connection.username")

	if err := connector.Start(ctx, cfg); err != nil {
		panic(err)
	}
	defer connector.Stop(ctx)
	tasks, _ := connector.TaskConfigs(ctx, 3)
	fmt.Println("tasks:", len(tasks))
	// Output:
	// problem with: connection.url
	// problems with: [connection.password connection.username]
	// tasks: 3
}
