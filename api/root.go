package api

import (
	"net/http"
)

// WorkerStatus is the body of the health endpoints, Kafka Connect 3.9's
// GET /health shape.
type WorkerStatus struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// Kafka Connect's WorkerStatus texts.
const (
	healthyMessage  = "Worker has completed startup and is ready to handle requests."
	startingMessage = "Worker is still starting up."
)

func (s *Server) serverInfo(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	info, err := s.h.ClusterInfo(ctx)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// healthz is liveness: the process answers HTTP, so it is alive. It does not
// consult Ready, so that a worker still joining its group is not restarted.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, WorkerStatus{Status: "healthy", Message: healthyMessage})
}

// health is Kafka Connect's GET /health: 200 "healthy" once the worker has
// started, 503 "starting" before. /readyz is the same probe under the name
// Kubernetes users expect.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil {
		if err := s.ready(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable,
				WorkerStatus{Status: "starting", Message: startingMessage + " " + err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, WorkerStatus{Status: "healthy", Message: healthyMessage})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) { s.health(w, r) }
