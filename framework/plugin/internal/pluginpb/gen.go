// Package pluginpb holds the generated gRPC code of the plugin protocol.
// Authors never see these types: framework/plugin converts to and from them.
package pluginpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative plugin.proto
