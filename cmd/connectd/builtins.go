package main

import (
	"github.com/connectd/connectd/connectors/datagen"
	elasticsink "github.com/connectd/connectd/connectors/elastic-sink"
	"github.com/connectd/connectd/connectors/file"
	"github.com/connectd/connectd/connectors/ftp"
	postgrescdc "github.com/connectd/connectd/connectors/postgres-cdc"
	s3sink "github.com/connectd/connectd/connectors/s3-sink"
	"github.com/connectd/connectd/framework/plugin"
)

// builtins lists the connectors shipped inside the connectd binary, by the
// name `connectd plugin serve NAME` takes. This map is the one place they
// are registered.
func builtins() map[string]plugin.Plugin {
	return map[string]plugin.Plugin{
		"datagen": {
			Name: "datagen", Version: datagen.Version,
			Aliases:   []string{"io.connectd.connectors.DatagenConnector"},
			NewSource: datagen.NewSource,
		},
		"file-source": {
			Name: "file-source", Version: file.Version,
			Aliases:   []string{"org.apache.kafka.connect.file.FileStreamSourceConnector"},
			NewSource: file.NewSource,
		},
		ftp.Name: {
			Name: ftp.Name, Version: ftp.Version,
			Aliases:   ftp.Aliases,
			NewSource: ftp.NewSource,
		},
		"postgres-cdc": {
			Name: "postgres-cdc", Version: postgrescdc.Version,
			Aliases:   []string{postgrescdc.DebeziumClass},
			NewSource: postgrescdc.NewSource,
		},
		"elastic-sink": {
			Name: "elastic-sink", Version: elasticsink.Version,
			Aliases: []string{elasticsink.ConfluentClass},
			NewSink: elasticsink.NewSink,
		},
		"s3-sink": {
			Name: "s3-sink", Version: s3sink.Version,
			Aliases: []string{s3sink.ConfluentClass},
			NewSink: s3sink.NewSink,
			// A task encodes records on its put goroutine while its
			// uploads (s3.upload.concurrency) sign and send the closed
			// files, and the data channel's reader takes the next batch.
			Procs: 2,
		},
		"file-sink": {
			Name: "file-sink", Version: file.Version,
			Aliases: []string{"org.apache.kafka.connect.file.FileStreamSinkConnector"},
			NewSink: file.NewSink,
		},
	}
}
