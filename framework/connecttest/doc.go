// Package connecttest is the test kit for connector authors: a contract
// suite that every connector passes both in-process and over the plugin
// boundary (a real plugin process), so a connector that works in a test
// works in a worker.
//
// A connector package wires it up in two places:
//
//	func TestMain(m *testing.M) {
//		connecttest.ServeIfPlugin(myPlugin) // the test binary doubles as the plugin process
//		os.Exit(m.Run())
//	}
//
//	func TestContract(t *testing.T) {
//		connecttest.Source(t, myPlugin, connecttest.SourceCase{Config: ...})
//	}
package connecttest
