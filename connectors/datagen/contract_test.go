package datagen

import (
	"testing"

	"github.com/connectd/connectd/framework/connecttest"
)

func TestContract(t *testing.T) {
	for name, schema := range map[string]string{"simple": "simple", "bytes": "bytes", "string": "string"} {
		t.Run(name, func(t *testing.T) {
			connecttest.Source(t, testPlugin, connecttest.SourceCase{
				Config:     map[string]string{"name": "gen", "connector.class": Name, "topic": "t", "schema": schema, "key.mode": "sequence", "count": "1000", "batch.size": "10"},
				MaxTasks:   3,
				MinRecords: 25,
			})
		})
	}
}
