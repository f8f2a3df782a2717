package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/connectd/connectd/framework/runtime"
)

func runStandalone(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("standalone", flag.ContinueOnError)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		return errors.New("standalone: usage: connectd standalone worker.properties [connector.properties|connector.json ...]")
	}
	logger := newLogger(*logLevel)
	props, err := runtime.ReadProperties(fs.Arg(0))
	if err != nil {
		return err
	}
	var connectors []map[string]string
	for _, path := range fs.Args()[1:] {
		c, err := readConnectorFile(path)
		if err != nil {
			return err
		}
		connectors = append(connectors, c)
	}
	sw, err := startStandalone(ctx, props, &runtime.MemoryConfigStore{}, logger)
	if err != nil {
		return err
	}
	for _, c := range connectors {
		if _, _, err := sw.herder.PutConnectorConfig(ctx, c["name"], c, true); err != nil {
			sw.wait(cancelled())
			return fmt.Errorf("connector %s: %w", c["name"], err)
		}
	}
	sw.announce()
	return sw.wait(ctx)
}

func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// readConnectorFile reads a connector config: a .properties file, or JSON
// either as the REST API's {"name":…,"config":{…}} or as a flat map.
func readConnectorFile(path string) (map[string]string, error) {
	if strings.EqualFold(filepath.Ext(path), ".json") {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var wrapped struct {
			Name   string            `json:"name"`
			Config map[string]string `json:"config"`
		}
		if err := json.Unmarshal(b, &wrapped); err == nil && wrapped.Config != nil {
			if wrapped.Config["name"] == "" {
				wrapped.Config["name"] = wrapped.Name
			}
			return wrapped.Config, nil
		}
		var flat map[string]string
		if err := json.Unmarshal(b, &flat); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return flat, nil
	}
	c, err := runtime.ReadProperties(path)
	if err != nil {
		return nil, err
	}
	if c["name"] == "" {
		return nil, fmt.Errorf("%s: no name", path)
	}
	return c, nil
}
