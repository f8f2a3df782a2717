package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/connectd/connectd/framework/herder"
)

// DefaultRequestTimeout is how long a request may wait for the herder when
// Options.RequestTimeout is zero: Kafka Connect's rest request timeout.
const DefaultRequestTimeout = 90 * time.Second

// Options configures a Server. The zero value serves the Kafka Connect API
// alone, logs nothing, and reports ready at once.
type Options struct {
	// Logger receives one debug record per request and an error record per
	// server error. Nil discards.
	Logger *slog.Logger
	// Metrics, if set, is mounted at /metrics (a Prometheus handler).
	Metrics http.Handler
	// Ready reports whether the worker can serve requests: nil means ready.
	// It answers /readyz and Kafka Connect's /health. It is called on every
	// probe, from the request's goroutine, and must be quick. Nil means
	// always ready.
	Ready func() error
	// RequestTimeout bounds each herder call; zero means
	// DefaultRequestTimeout. A call that takes longer answers 500 "Request
	// timed out", as Kafka Connect does.
	RequestTimeout time.Duration
	// Loggers, if set, serves Kafka Connect's /admin/loggers endpoints
	// (KIP-495): this worker's log levels, changed at runtime. Nil leaves
	// them out (404).
	Loggers herder.LoggerAdmin
	// Admin says which endpoints this server serves, for Kafka Connect's
	// admin.listeners: all of them (the default), all but /admin/*, or
	// only /admin/*.
	Admin AdminEndpoints
	// Auth, if set, requires credentials on every request but the health
	// probes and the workers' signed internal requests (see
	// Authenticator). Nil leaves the API open, as Kafka Connect's is
	// without a REST extension.
	Auth *Authenticator
	// CORS sets Kafka Connect's access.control.allow.origin and
	// access.control.allow.methods.
	CORS CORS
}

// AdminEndpoints says where the /admin/* endpoints are served.
type AdminEndpoints int

const (
	// AdminHere serves every endpoint (admin.listeners unset).
	AdminHere AdminEndpoints = iota
	// AdminElsewhere serves all but /admin/* (admin.listeners set to other
	// listeners, or empty to turn them off).
	AdminElsewhere
	// AdminOnly serves only /admin/* (the server of admin.listeners).
	AdminOnly
)

// CORS is the API's cross-origin policy (Kafka Connect's
// access.control.allow.* keys). The zero value sends no CORS headers, so
// browsers allow only pages of the API's own origin.
type CORS struct {
	// AllowOrigin is a comma-separated list of origins allowed, or "*".
	AllowOrigin string
	// AllowMethods lists the methods allowed; empty means GET, POST and
	// HEAD, as Kafka Connect's default.
	AllowMethods string
}

// Server serves the REST API for one herder. It holds no goroutines of its
// own; the caller runs it in an http.Server, whose Shutdown drains it.
type Server struct {
	h       herder.Herder
	log     *slog.Logger
	ready   func() error
	timeout time.Duration
	loggers herder.LoggerAdmin
	admin   AdminEndpoints
	auth    *Authenticator
	cors    CORS
	router  *chi.Mux
}

// New returns a Server that answers for h.
func New(h herder.Herder, opts Options) *Server {
	s := &Server{h: h, log: opts.Logger, ready: opts.Ready, timeout: opts.RequestTimeout, loggers: opts.Loggers, admin: opts.Admin, auth: opts.Auth, cors: opts.CORS}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.timeout <= 0 {
		s.timeout = DefaultRequestTimeout
	}
	s.router = s.routes(opts.Metrics)
	return s
}

// Handler returns the HTTP handler of the API.
func (s *Server) Handler() http.Handler { return s.router }

func (s *Server) routes(metrics http.Handler) *chi.Mux {
	r := chi.NewRouter()
	r.Use(s.logRequests, s.recoverPanics)
	if s.cors.AllowOrigin != "" {
		r.Use(s.crossOrigin)
	}
	if s.auth != nil {
		r.Use(s.authenticate)
	}
	r.Use(jsonMethodNotAllowed, stripTrailingSlash, getForHead)
	r.NotFound(s.notFound)

	if s.loggers != nil && s.admin != AdminElsewhere {
		r.Route("/admin/loggers", func(r chi.Router) {
			r.Get("/", s.listLoggers)
			r.Get("/{logger}", s.getLogger)
			r.Put("/{logger}", s.setLoggerLevel)
		})
	}
	if s.admin == AdminOnly {
		return r
	}

	r.Get("/", s.serverInfo)
	r.Get("/health", s.health)
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	if metrics != nil {
		r.Handle("/metrics", metrics)
	}

	r.Route("/connectors", func(r chi.Router) {
		r.Get("/", s.listConnectors)
		r.Post("/", s.createConnector)
		r.Route("/{connector}", func(r chi.Router) {
			r.Get("/", s.getConnector)
			r.Delete("/", s.deleteConnector)
			r.Get("/config", s.getConnectorConfig)
			r.Put("/config", s.putConnectorConfig)
			r.Patch("/config", s.patchConnectorConfig)
			r.Get("/status", s.getConnectorStatus)
			r.Post("/restart", s.restartConnector)
			r.Put("/pause", s.pauseConnector)
			r.Put("/resume", s.resumeConnector)
			r.Put("/stop", s.stopConnector)
			r.Get("/tasks", s.getTaskConfigs)
			r.Post("/tasks", s.putTaskConfigs)
			r.Put("/fence", s.fenceZombies)
			r.Get("/tasks/{task}/status", s.getTaskStatus)
			r.Post("/tasks/{task}/restart", s.restartTask)
			r.Get("/offsets", s.getConnectorOffsets)
			r.Patch("/offsets", s.alterConnectorOffsets)
			r.Delete("/offsets", s.resetConnectorOffsets)
			r.Get("/topics", s.getConnectorTopics)
			r.Put("/topics/reset", s.resetConnectorTopics)
		})
	})

	r.Route("/connector-plugins", func(r chi.Router) {
		r.Get("/", s.listPlugins)
		r.Get("/{plugin}/config", s.getPluginConfig)
		r.Put("/{plugin}/config/validate", s.validateConfig)
	})
	return r
}

// crossOrigin answers CORS preflights and marks answers to allowed
// origins, as Kafka Connect's cross-origin filter does with its
// access.control.allow.* keys.
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	methods := s.cors.AllowMethods
	if methods == "" {
		methods = "GET,POST,HEAD"
	}
	var origins []string
	for _, o := range strings.Split(s.cors.AllowOrigin, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	allowed := func(origin string) bool {
		return origin != "" && (slices.Contains(origins, "*") || slices.Contains(origins, origin))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if !allowed(origin) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add("Vary", "Origin")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			// A preflight: browsers send it without credentials.
			h.Set("Access-Control-Allow-Methods", methods)
			h.Set("Access-Control-Allow-Headers", "X-Requested-With,Content-Type,Accept,Origin,Authorization")
			h.Set("Access-Control-Max-Age", "1800")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// herderCtx bounds one herder call by the request timeout, and marks a
// request another worker forwarded.
func (s *Server) herderCtx(r *http.Request) (context.Context, context.CancelFunc) {
	ctx := r.Context()
	if r.Header.Get(ForwardedHeader) != "" {
		ctx = herder.WithForwarded(ctx)
	}
	return context.WithTimeout(ctx, s.timeout)
}

// notFound answers as Jersey does behind Kafka Connect's exception mapper:
// the code, and Jersey's "HTTP 404 Not Found" text.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, &APIError{Code: http.StatusNotFound, Message: msgNotFound})
}

// jsonMethodNotAllowed gives chi's 405 answer Kafka Connect's JSON body.
// chi's own handler is kept because it alone knows the route's methods, for
// the Allow header; a custom one would have to guess them.
func jsonMethodNotAllowed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&notAllowedWriter{ResponseWriter: w}, r)
	})
}

// notAllowedWriter replaces a 405 and its (empty) body. No handler of this
// package answers 405 itself, so every 405 is the router's.
type notAllowedWriter struct {
	http.ResponseWriter
	replaced bool
}

func (w *notAllowedWriter) WriteHeader(code int) {
	if code != http.StatusMethodNotAllowed || w.replaced {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.replaced = true
	// chi lists the methods in map order; put them in a stable one, adding
	// HEAD wherever GET is served, as getForHead does.
	h := w.Header()
	allowed := h.Values("Allow")
	h.Del("Allow")
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if slices.Contains(allowed, m) || m == http.MethodHead && slices.Contains(allowed, http.MethodGet) {
			h.Add("Allow", m)
		}
	}
	writeJSON(w.ResponseWriter, code, &APIError{Code: code, Message: msgNotAllowed})
}

func (w *notAllowedWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *notAllowedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestPath is the whole path chi routes on, without a trailing slash: the
// escaped form when the client escaped something (a connector name holding
// "/"), so that an escaped slash stays inside one path segment.
func requestPath(r *http.Request) string {
	p := r.URL.Path
	if r.URL.RawPath != "" {
		p = r.URL.RawPath
	}
	if p = strings.TrimRight(p, "/"); p == "" {
		p = "/"
	}
	return p
}

// pathParam returns a path parameter unescaped. chi routes on the escaped
// path when there is one, and then hands back escaped parameters.
func pathParam(r *http.Request, name string) string {
	v := chi.URLParam(r, name)
	if r.URL.RawPath == "" {
		return v
	}
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

// stripTrailingSlash routes /connectors/ as /connectors, as Jersey does.
// chi's own StripSlashes routes on the unescaped path, which would split an
// escaped "/" in a connector name.
func stripTrailingSlash(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.RoutePath == "" {
			rctx.RoutePath = requestPath(r)
		}
		next.ServeHTTP(w, r)
	})
}

// getForHead routes HEAD like GET (Jersey does); net/http drops the body.
func getForHead(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			if rctx := chi.RouteContext(r.Context()); rctx != nil {
				rctx.RouteMethod = http.MethodGet
			}
		}
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status a handler wrote, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests logs each request at debug level. Bodies are never logged:
// connector configs hold passwords.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		s.log.DebugContext(r.Context(), "rest request",
			"method", r.Method, "path", r.URL.Path, "status", status, "duration", time.Since(start))
	})
}

// recoverPanics turns a handler's panic into a 500 with the JSON error body,
// so one bad request does not end the connection without an answer.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "rest handler panicked",
				"method", r.Method, "path", r.URL.Path, "panic", v)
			writeJSON(w, http.StatusInternalServerError,
				&APIError{Code: http.StatusInternalServerError, Message: "Internal server error"})
		}()
		next.ServeHTTP(w, r)
	})
}
