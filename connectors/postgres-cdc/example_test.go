package postgrescdc_test

import (
	"context"
	"fmt"

	postgrescdc "github.com/connectd/connectd/connectors/postgres-cdc"
)

// ExampleNewSource validates a Debezium-style configuration and splits it
// into its single task. Validate reaches the database: a wrong host comes
// back as a message on database.hostname, not as an error.
func ExampleNewSource() {
	ctx := context.Background()
	connector := postgrescdc.NewSource()
	cfg := map[string]string{
		"connector.class":   postgrescdc.DebeziumClass,
		"database.hostname": "127.0.0.1",
		"database.port":     "1", // nothing listens here
		"database.user":     "postgres",
		"database.dbname":   "inventory",
		"topic.prefix":      "dbserver1",
	}
	if v, ok := connector.(interface {
		Validate(context.Context, map[string]string) map[string][]string
	}); ok {
		fmt.Println("problems with:", len(v.Validate(ctx, cfg)), "key")
	}
	if err := connector.Start(ctx, cfg); err != nil {
		panic(err)
	}
	defer connector.Stop(ctx)
	tasks, _ := connector.TaskConfigs(ctx, 4)
	fmt.Println("tasks:", len(tasks))
	// Output:
	// problems with: 1 key
	// tasks: 1
}
