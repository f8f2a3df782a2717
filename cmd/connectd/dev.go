package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/runtime"
	"github.com/connectd/connectd/internal/schemaregistry"
)

// defaultDataDir is where `connectd dev` keeps its state: under the user's
// home when there is one, else in the current folder.
func defaultDataDir() string {
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".connectd", "dev")
	}
	return ".connectd-dev"
}

func runDev(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	restPort := fs.Int("rest-port", 8083, "REST API port (on 127.0.0.1)")
	kafkaPort := fs.Int("kafka-port", 9092, "embedded Kafka broker port (on 127.0.0.1)")
	registryPort := fs.Int("schema-registry-port", 8081, "embedded schema registry port (on 127.0.0.1); -1 for none")
	dataDir := fs.String("data-dir", defaultDataDir(), "folder for the broker's data, offsets and connector configs")
	isolation := fs.String("plugin-isolation", "connector", "connector: one plugin process per connector hosts its tasks; task: a plugin process per task; none: in the worker")
	flushMs := fs.Int("offset-flush-interval-ms", 1000, "how often source offsets are committed and sinks flushed")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	workerFile := fs.String("worker-config", "", "a worker .properties file whose keys are added (e.g. config.providers, converters); the flags above win")
	var sec brokerSecurity
	sec.flags(fs, "kafka-")
	var rest restFlags
	rest.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := newLogger(*logLevel)
	extra := map[string]string{}
	if *workerFile != "" {
		var err error
		if extra, err = runtime.ReadProperties(*workerFile); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(*dataDir, 0o755); err != nil {
		return err
	}
	kafkaDir := filepath.Join(*dataDir, "kafka")
	broker, client, err := startBroker(*kafkaPort, kafkaDir, true, sec)
	if err != nil {
		return err
	}
	defer broker.Close()
	bootstrap := strings.Join(broker.ListenAddrs(), ",")

	var registry *schemaregistry.Registry
	if *registryPort >= 0 {
		if registry, err = startRegistry(ctx, broker.ListenAddrs(), client, *registryPort, logger); err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			registry.Close(sctx)
		}()
	}

	props := extra
	// The worker's own clients and its tasks' reach the embedded broker
	// with the keys a client needs (the tasks' inherit the worker's).
	maps.Copy(props, client)
	maps.Copy(props, map[string]string{
		runtime.KeyBootstrapServers:    bootstrap,
		runtime.KeyOffsetFile:          filepath.Join(*dataDir, "offsets.json"),
		runtime.KeyListeners:           rest.scheme() + "://127.0.0.1:" + strconv.Itoa(*restPort),
		runtime.KeyPluginIsolation:     *isolation,
		runtime.KeyOffsetFlushInterval: strconv.Itoa(*flushMs),
	})
	if err := rest.setup(filepath.Join(*dataDir, "rest"), props); err != nil {
		return err
	}
	sw, err := startStandalone(ctx, props, runtime.FileConfigStore{Path: filepath.Join(*dataDir, "connectors.json")}, logger)
	if err != nil {
		return err
	}
	fmt.Printf("connectd %s (dev mode)\n", version())
	fmt.Printf("Data dir: %s\n", *dataDir)
	fmt.Printf("Kafka bootstrap: %s\n", bootstrap)
	if sec.protocol != "PLAINTEXT" {
		fmt.Printf("Kafka security: %s (client keys in %s)\n", sec.protocol, filepath.Join(kafkaDir, "client.properties"))
	}
	if registry != nil {
		fmt.Printf("Schema Registry: %s\n", registry.URL())
	}
	sw.announce()
	rest.announce()
	fmt.Printf("Ready. Stop with Ctrl-C.\n")
	return sw.wait(ctx)
}

// startRegistry starts the embedded schema registry on 127.0.0.1:port,
// keeping its schemas in the broker's _schemas topic, which it reaches
// with the Kafka client keys in client (TLS and SASL when the broker asks).
func startRegistry(ctx context.Context, seeds []string, client map[string]string, port int, logger *slog.Logger) (*schemaregistry.Registry, error) {
	secOpts, err := runtime.ClientSecurityOpts(client)
	if err != nil {
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	reg, err := schemaregistry.Open(octx, schemaregistry.Options{
		ClientOpts: append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, secOpts...),
		Logger:     logger.With("component", "schema-registry"),
	})
	if err != nil {
		return nil, err
	}
	if err := reg.Serve("127.0.0.1:" + strconv.Itoa(port)); err != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		reg.Close(sctx)
		return nil, err
	}
	return reg, nil
}

// startBroker starts the embedded Kafka-protocol broker on 127.0.0.1:port,
// persisting to dir (each write on disk before it is acknowledged when
// syncWrites), taking clients as sec says. Its cluster id is kept in dir so
// it survives restarts. It returns the Kafka client keys a client needs to
// reach it.
func startBroker(port int, dir string, syncWrites bool, sec brokerSecurity) (*kfake.Cluster, map[string]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	secOpts, client, err := sec.setup(dir)
	if err != nil {
		return nil, nil, err
	}
	idPath := filepath.Join(dir, "cluster.id")
	id, err := os.ReadFile(idPath)
	if errors.Is(err, fs.ErrNotExist) {
		b := make([]byte, 8)
		rand.Read(b)
		id = []byte("connectd-" + hex.EncodeToString(b))
		if err := os.WriteFile(idPath, id, 0o644); err != nil {
			return nil, nil, err
		}
	} else if err != nil {
		return nil, nil, err
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.DataDir(dir),
		kfake.ClusterID(strings.TrimSpace(string(id))),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(1),
		// Workers of a test cluster use short sessions to fail over fast.
		kfake.GroupMinSessionTimeout(100 * time.Millisecond),
	}
	if syncWrites {
		// Acknowledge a produce only once it is on disk: without this a kill -9
		// of the process loses acknowledged records, and offsets already
		// committed for them would skip them for good.
		opts = append(opts, kfake.SyncWrites())
	}
	opts = append(opts, secOpts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("embedded broker on 127.0.0.1:%d: %w", port, err)
	}
	return c, client, nil
}

func runBroker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	port := fs.Int("port", 9092, "port (on 127.0.0.1)")
	dataDir := fs.String("data-dir", filepath.Join(defaultDataDir(), "kafka"), "data folder")
	syncWrites := fs.Bool("sync-writes", true, "acknowledge a write only once it is on disk; false acknowledges it from memory, as a replicated Kafka broker does, and a kill -9 of the broker then loses acknowledged writes")
	var sec brokerSecurity
	sec.flags(fs, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, _, err := startBroker(*port, *dataDir, *syncWrites, sec)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Printf("Kafka client config: %s\n", filepath.Join(*dataDir, "client.properties"))
	fmt.Printf("Kafka bootstrap: %s\n", strings.Join(c.ListenAddrs(), ","))
	<-ctx.Done()
	return nil
}

// version is set at build time with -ldflags "-X main.buildVersion=...".
var buildVersion = ""

func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	return runtime.Version
}
