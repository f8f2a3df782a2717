package plugin

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/connectd/connectd/framework/connect"
	pb "github.com/connectd/connectd/framework/plugin/internal/pluginpb"
)

// TaskProgress asks the running task, if it is a connect.ProgressReporter.
// The map goes through JSON, as it would across the process boundary, so
// the worker never holds the task's own maps.
func (l *local) TaskProgress(context.Context) (map[string]any, error) {
	b, err := l.progressJSON()
	if err != nil || b == nil {
		return nil, err
	}
	return decodeProgress(b)
}

// progressJSON returns the task's progress as a JSON object, or nil.
func (l *local) progressJSON() ([]byte, error) {
	l.mu.Lock()
	var t any
	if l.source != nil {
		t = l.source
	} else if l.sink != nil {
		t = l.sink
	}
	l.mu.Unlock()
	pr, ok := t.(connect.ProgressReporter)
	if !ok {
		return nil, nil
	}
	p := pr.Progress()
	if len(p) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("plugin: %s: encode task progress: %w (Progress must return JSON-compatible values)", l.className, err)
	}
	return b, nil
}

// decodeProgress decodes a task's progress; numbers become float64, as
// encoding/json decodes them.
func decodeProgress(b []byte) (map[string]any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("plugin: decode task progress: %w", err)
	}
	return m, nil
}

func (r *remote) TaskProgress(ctx context.Context) (map[string]any, error) {
	resp, err := r.rpc.TaskProgress(r.ctx(ctx), &pb.Empty{})
	if err != nil {
		return nil, r.wrap(err)
	}
	return decodeProgress(resp.Json)
}

func (s *server) TaskProgress(ctx context.Context, _ *pb.Empty) (*pb.Progress, error) {
	in, err := s.instance(ctx)
	if err != nil {
		return nil, err
	}
	if l, ok := in.impl.(*local); ok {
		b, err := l.progressJSON()
		if err != nil {
			return nil, errStatus(err)
		}
		return &pb.Progress{Json: b}, nil
	}
	p, err := in.impl.TaskProgress(ctx)
	if err != nil {
		return nil, errStatus(err)
	}
	if len(p) == 0 {
		return &pb.Progress{}, nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, errStatus(fmt.Errorf("plugin: encode task progress: %w", err))
	}
	return &pb.Progress{Json: b}, nil
}
