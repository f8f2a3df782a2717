package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/cluster"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/runtime"
	"github.com/connectd/connectd/offsets"
)

// workerHerder is a herder the worker process runs and stops.
type workerHerder interface {
	herder.Herder
	Close()
}

// restWorker is a running worker with its REST API, in either mode.
type restWorker struct {
	herder  workerHerder
	server  *http.Server
	restURL string
	serveCh chan error
	store   offsets.Store
}

// newHerder builds a mode's herder on a worker whose REST API listens at url.
type newHerder func(w *runtime.Worker, url string) (workerHerder, error)

// startStandalone starts a single worker from its worker properties.
func startStandalone(ctx context.Context, props map[string]string, cs runtime.ConfigStore, logger *slog.Logger) (*restWorker, error) {
	cfg, err := runtime.ParseWorkerConfig(props, logger)
	if err != nil {
		return nil, err
	}
	path := cfg.Parsed.String(runtime.KeyOffsetFile)
	if path == "" {
		return nil, fmt.Errorf("worker config: %s is required in standalone mode", runtime.KeyOffsetFile)
	}
	store, err := offsets.OpenFile(path)
	if err != nil {
		return nil, err
	}
	return startWorker(ctx, cfg, store, logger, func(w *runtime.Worker, _ string) (workerHerder, error) {
		return runtime.NewStandalone(ctx, w, cs)
	})
}

// startDistributed starts a worker of a cluster from its worker properties.
func startDistributed(ctx context.Context, props map[string]string, logger *slog.Logger) (*restWorker, error) {
	cfg, err := runtime.ParseWorkerConfig(props, logger)
	if err != nil {
		return nil, err
	}
	ccfg, err := cluster.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	ccfg.LogLevels = runtime.LevelsOf(logger.Handler())
	// With exactly-once source support, offsets are read read_committed:
	// only those of committed transactions count.
	oopts := offsets.KafkaOptions{
		ClientOpts: runtime.BaseKafkaOpts(cfg), Topic: ccfg.OffsetTopic,
		Partitions: ccfg.OffsetPartitions, ReplicationFactor: ccfg.OffsetRF,
		ReadCommitted: ccfg.ExactlyOnce == runtime.ExactlyOnceEnabled,
	}
	global, err := offsets.NewKafka(ctx, oopts)
	if err != nil {
		return nil, fmt.Errorf("offsets topic: %w", err)
	}
	// Connectors' own offsets topics (offsets.storage.topic) are opened as
	// their tasks first need them, and closed with the worker's.
	topics := offsets.NewTopics(oopts)
	store := &workerOffsets{Kafka: global, topics: topics}
	return startWorker(ctx, cfg, store, logger, func(w *runtime.Worker, url string) (workerHerder, error) {
		w.OpenOffsetsTopic = topics.Open
		return cluster.New(ctx, w, ccfg, url)
	})
}

// startWorker opens the REST listener, builds the worker and its herder,
// and serves the API.
func startWorker(ctx context.Context, cfg *runtime.WorkerConfig, store offsets.Store, logger *slog.Logger, mk newHerder) (*restWorker, error) {
	reg, err := runtime.NewRegistry(ctx, builtins(), cfg.Isolated, cfg.PluginPath, logger)
	if err != nil {
		store.Close()
		return nil, err
	}
	listen, err := listenAddr(cfg.Parsed.List(runtime.KeyListeners))
	if err != nil {
		store.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("REST listener: %w", err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if h := cfg.Parsed.String(runtime.KeyAdvertisedHost); h != "" {
		host = h
	}
	if p := cfg.Parsed.Int(runtime.KeyAdvertisedPort); p != 0 {
		port = strconv.Itoa(p)
	}
	id := net.JoinHostPort(host, port)
	w := runtime.NewWorker(id, cfg, reg, store, logger)
	h, err := mk(w, "http://"+id)
	if err != nil {
		ln.Close()
		store.Close()
		return nil, err
	}
	opts := api.Options{Logger: w.Logger, Metrics: promhttp.HandlerFor(w.Metrics.Registry, promhttp.HandlerOpts{})}
	if levels := runtime.LevelsOf(logger.Handler()); levels != nil {
		opts.Loggers = levels
	}
	if r, ok := h.(interface{ Ready() error }); ok {
		opts.Ready = r.Ready
	}
	srv := &http.Server{Handler: api.New(h, opts).Handler(), ReadHeaderTimeout: 10 * time.Second}
	rw := &restWorker{herder: h, server: srv, restURL: "http://" + ln.Addr().String(), serveCh: make(chan error, 1), store: store}
	go func() { rw.serveCh <- srv.Serve(ln) }()
	return rw, nil
}

// wait serves until ctx ends, then stops the REST API and drains every task.
func (rw *restWorker) wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-rw.serveCh:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rw.server.Shutdown(sctx)
	rw.herder.Close()
	rw.store.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// listenAddr turns Kafka Connect's listeners value (http://host:port, the
// first one) into a listen address.
func listenAddr(listeners []string) (string, error) {
	if len(listeners) == 0 {
		return ":8083", nil
	}
	u, err := url.Parse(listeners[0])
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("worker config: listeners: %q is not a URL like http://host:8083", listeners[0])
	}
	if u.Scheme != "http" {
		return "", fmt.Errorf("worker config: listeners: only http is supported, got %q", listeners[0])
	}
	return u.Host, nil
}

// workerOffsets is a distributed worker's offset store: the worker's
// offsets topic, and closing it closes the connectors' own offsets topics
// too.
type workerOffsets struct {
	*offsets.Kafka
	topics *offsets.Topics
}

func (o *workerOffsets) Close() error {
	return errors.Join(o.topics.Close(), o.Kafka.Close())
}
