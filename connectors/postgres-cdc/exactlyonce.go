package postgrescdc

import (
	"strings"

	"github.com/connectd/connectd/framework/connect"
)

// ExactlyOnceSupport implements connect.ExactlyOnceSourceConnector. A
// restarted task resumes after its committed offset: streaming skips every
// change up to lsn_proc of the committed transaction, and an interrupted
// snapshot goes on after the last committed row. With the worker's
// transactions each record is then written once. snapshot.mode=always
// reads every table again at each start, repeating what was written:
// unsupported.
func (c *connector) ExactlyOnceSupport(config map[string]string) connect.ExactlyOnceSupport {
	if strings.EqualFold(strings.TrimSpace(config[SnapshotModeKey]), SnapshotAlways) {
		return connect.ExactlyOnceUnsupported
	}
	return connect.ExactlyOnceSupported
}
