package postgrescdc

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/connectd/connectd/framework/connecttest"
	"github.com/connectd/connectd/internal/pgtest"
)

// TestContract runs the source contract suite in-process and over a real
// plugin process, each run on a fresh database of one server.
func TestContract(t *testing.T) {
	pg := pgtest.Start(t)
	var n atomic.Int32
	connecttest.Source(t, testPlugin, connecttest.SourceCase{
		MinRecords: 30,
		Prepare: func(t *testing.T) map[string]string {
			db := fmt.Sprintf("contract%d", n.Add(1))
			pg.CreateDatabase(db)
			pg.Exec(db, "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)",
				"INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 100) i")
			cfg := pg.Config(db)
			cfg["name"] = "pg"
			cfg["connector.class"] = DebeziumClass
			cfg["topic.prefix"] = "srv"
			cfg["slot.name"] = db
			cfg["snapshot.fetch.size"] = "7"
			cfg["max.batch.size"] = "5"
			return cfg
		},
	})
}
