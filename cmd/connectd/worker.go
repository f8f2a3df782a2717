package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
	herder   workerHerder
	servers  []*http.Server
	restURL  string // the advertised listener's URL
	adminURL string // the first admin listener's, when they are separate
	serveCh  chan error
	store    offsets.Store
}

// newHerder builds a mode's herder on a worker whose REST API other
// workers reach at url, with client.
type newHerder func(w *runtime.Worker, url string, client *http.Client) (workerHerder, error)

// startStandalone starts a single worker from its worker properties.
func startStandalone(ctx context.Context, props map[string]string, cs runtime.ConfigStore, logger *slog.Logger) (*restWorker, error) {
	cfg, err := runtime.ParseWorkerConfig(props, logger)
	if err != nil {
		return nil, err
	}
	if err := runtime.CheckKafka(ctx, cfg); err != nil {
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
	return startWorker(ctx, cfg, store, logger, func(w *runtime.Worker, _ string, _ *http.Client) (workerHerder, error) {
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
	// A worker whose credentials the brokers refuse stops here, saying so,
	// as Kafka Connect's stops when it cannot reach its Kafka cluster.
	if err := runtime.CheckKafka(ctx, cfg); err != nil {
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
	return startWorker(ctx, cfg, store, logger, func(w *runtime.Worker, url string, client *http.Client) (workerHerder, error) {
		w.OpenOffsetsTopic = topics.Open
		ccfg.RESTClient = client
		return cluster.New(ctx, w, ccfg, url)
	})
}

// startWorker opens the REST listeners, builds the worker and its herder,
// and serves the API.
func startWorker(ctx context.Context, cfg *runtime.WorkerConfig, store offsets.Store, logger *slog.Logger, mk newHerder) (*restWorker, error) {
	rest, err := parseREST(cfg)
	if err != nil {
		store.Close()
		return nil, err
	}
	reg, err := runtime.NewRegistry(ctx, builtins(), cfg.Isolated, cfg.PluginPath, logger)
	if err != nil {
		store.Close()
		return nil, err
	}
	bound, err := rest.open()
	if err != nil {
		store.Close()
		return nil, err
	}
	closeAll := func() {
		for _, b := range bound {
			b.ln.Close()
		}
		store.Close()
	}
	var adv boundListener
	for _, b := range bound {
		if !b.admin && b.scheme == rest.advertised {
			adv = b
			break
		}
	}
	host, port, _ := net.SplitHostPort(adv.ln.Addr().String())
	if h := cfg.Parsed.String(runtime.KeyAdvertisedHost); h != "" {
		host = h
	}
	if p := cfg.Parsed.Int(runtime.KeyAdvertisedPort); p != 0 {
		port = strconv.Itoa(p)
	}
	id := net.JoinHostPort(host, port)
	w := runtime.NewWorker(id, cfg, reg, store, logger)
	h, err := mk(w, rest.advertised+"://"+id, rest.client)
	if err != nil {
		closeAll()
		return nil, err
	}
	opts := api.Options{Logger: w.Logger, Metrics: promhttp.HandlerFor(w.Metrics.Registry, promhttp.HandlerOpts{}), Auth: rest.auth, CORS: rest.cors}
	if levels := runtime.LevelsOf(logger.Handler()); levels != nil {
		opts.Loggers = levels
	}
	if r, ok := h.(interface{ Ready() error }); ok {
		opts.Ready = r.Ready
	}
	if rest.separate {
		opts.Admin = api.AdminElsewhere
	}
	main := api.New(h, opts).Handler()
	adminOpts := opts
	adminOpts.Admin = api.AdminOnly
	admin := api.New(h, adminOpts).Handler()
	rw := &restWorker{herder: h, restURL: adv.url(), serveCh: make(chan error, len(bound)), store: store}
	for _, b := range bound {
		handler := main
		if b.admin {
			handler = admin
			if rw.adminURL == "" {
				rw.adminURL = b.url()
			}
		}
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(w.Logger.Handler(), slog.LevelDebug)}
		rw.servers = append(rw.servers, srv)
		go func() { rw.serveCh <- srv.Serve(b.ln) }()
	}
	return rw, nil
}

// announce prints where the REST API listens.
func (rw *restWorker) announce() {
	fmt.Printf("REST API: %s\n", rw.restURL)
	if rw.adminURL != "" {
		fmt.Printf("REST admin API: %s\n", rw.adminURL)
	}
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
	for _, srv := range rw.servers {
		srv.Shutdown(sctx)
	}
	rw.herder.Close()
	rw.store.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
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
