package ftp

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/connectd/connectd/framework/connecttest"
)

// TestContract runs the source contract suite in-process and over a real
// plugin process against proftpd, each run reading fresh files.
func TestContract(t *testing.T) {
	s := startServer(t, "proftpd")
	var n atomic.Int32
	connecttest.Source(t, testPlugin, connecttest.SourceCase{
		MinRecords: 30,
		Prepare: func(t *testing.T) map[string]string {
			dir := fmt.Sprintf("/contract%d", n.Add(1))
			for i := range 3 {
				s.write(t, fmt.Sprintf("%s/f%d.csv", dir, i), []byte("id,name\n"+csvRows(i, 40)), fixedTime)
			}
			cfg := s.config(InputPathKey, dir, FormatKey, FormatCSV, BatchSizeKey, "7", "tasks.max", "1")
			cfg["connector.class"] = Aliases[0]
			return cfg
		},
	})
}

func csvRows(file, n int) string {
	var out string
	for i := range n {
		out += fmt.Sprintf("%d,row %d of file %d\n", i, i, file)
	}
	return out
}
