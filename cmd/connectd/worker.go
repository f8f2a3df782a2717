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
	"github.com/connectd/connectd/framework/runtime"
	"github.com/connectd/connectd/offsets"
)

// standaloneWorker is a running worker with its REST API.
type standaloneWorker struct {
	herder  *runtime.Standalone
	server  *http.Server
	restURL string
	serveCh chan error
	store   offsets.Store
}

// startStandalone starts a single worker from its worker properties.
func startStandalone(ctx context.Context, props map[string]string, cs runtime.ConfigStore, logger *slog.Logger) (*standaloneWorker, error) {
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
	reg, err := runtime.NewRegistry(ctx, builtins(), cfg.Isolated, cfg.PluginPath, logger)
	if err != nil {
		return nil, err
	}
	listen, err := listenAddr(cfg.Parsed.List(runtime.KeyListeners))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
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
	h, err := runtime.NewStandalone(ctx, w, cs)
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := &http.Server{
		Handler:           api.New(h, api.Options{Logger: logger, Metrics: promhttp.HandlerFor(w.Metrics.Registry, promhttp.HandlerOpts{})}).Handler(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	sw := &standaloneWorker{herder: h, server: srv, restURL: "http://" + ln.Addr().String(), serveCh: make(chan error, 1), store: store}
	go func() { sw.serveCh <- srv.Serve(ln) }()
	return sw, nil
}

// wait serves until ctx ends, then stops the REST API and drains every task.
func (sw *standaloneWorker) wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-sw.serveCh:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sw.server.Shutdown(sctx)
	sw.herder.Close()
	sw.store.Close()
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
