package api

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/herder"
)

// clusterHerder is a memHerder that takes task configs, as a cluster's
// leader does, and records whether each call came forwarded.
type clusterHerder struct {
	*memHerder
	taskConfigs map[string][]map[string]string
	forwarded   []bool
	err         error
}

func (h *clusterHerder) PutTaskConfigs(ctx context.Context, name string, configs []map[string]string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.forwarded = append(h.forwarded, herder.Forwarded(ctx))
	if h.err != nil {
		return h.err
	}
	h.taskConfigs[name] = configs
	return nil
}

func TestPutTaskConfigs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := &clusterHerder{memHerder: seeded(), taskConfigs: map[string][]map[string]string{}}
	c := newClient(t, h, Options{})
	want := []map[string]string{{"task.class": "a", "n": "0"}, {"task.class": "a", "n": "1"}}
	if err := c.PutTaskConfigs(ctx, "src", want); err != nil {
		t.Fatal(err)
	}
	if err := c.PutTaskConfigs(herder.WithForwarded(ctx), "src", want[:1]); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[:1], h.taskConfigs["src"]); diff != "" {
		t.Errorf("task configs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{false, true}, h.forwarded); diff != "" {
		t.Errorf("forwarded flags (-want +got):\n%s", diff)
	}

	// Another worker's error answer is passed on unchanged.
	h.err = &APIError{Code: http.StatusConflict, Message: "Cannot complete request because the leader is gone"}
	err := c.PutTaskConfigs(ctx, "src", want)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != http.StatusConflict || ae.Message != "Cannot complete request because the leader is gone" {
		t.Errorf("error = %v, want the 409 passed on", err)
	}

	// A bad body names what is wrong.
	_, err = c.do(ctx, http.MethodPost, "/connectors/src/tasks", nil, map[string]string{"not": "a list"}, nil)
	if !errors.As(err, &ae) || ae.Code != http.StatusBadRequest {
		t.Errorf("object body: error = %v, want 400", err)
	}
}

func TestPutTaskConfigsWithoutCluster(t *testing.T) {
	t.Parallel()
	c := newClient(t, seeded(), Options{})
	err := c.PutTaskConfigs(context.Background(), "src", nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != http.StatusNotFound {
		t.Errorf("error = %v, want 404 from a herder without a cluster", err)
	}
}

func TestCreateConnectorInState(t *testing.T) {
	t.Parallel()
	h := seeded()
	c := newClient(t, h, Options{})
	cfg := map[string]string{"connector.class": "datagen", "topic": "t"}
	if _, err := c.CreateConnectorInState(context.Background(), "paused", cfg, herder.TargetPaused); err != nil {
		t.Fatal(err)
	}
	if got := h.connectors["paused"].target; got != herder.TargetPaused {
		t.Errorf("target = %s, want PAUSED", got)
	}
}
