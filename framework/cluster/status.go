package cluster

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/connectd/connectd/framework/cluster/storage"
	"github.com/connectd/connectd/framework/herder"
)

// statusWriter sends this worker's status reports to the status topic from
// one goroutine, in order, retrying until the topic takes them. Reports
// never block the task or connector making them; only the newest report
// per connector or task is kept while older ones wait.
type statusWriter struct {
	log    *storage.StatusLog
	logger *slog.Logger
	worker string

	mu      sync.Mutex
	pending map[string]statusReport
	order   []string
	wake    chan struct{}
	idle    *sync.Cond
	busy    bool
	closed  bool
	done    chan struct{}

	// seq numbers reports, to tell a replaced one from the one sent.
	seq uint64
	// tasks holds the status last reported for each task this worker
	// runs, so a progress report rewrites it with the new progress and a
	// state change keeps the progress.
	tasks map[herder.TaskID]storage.Status
	// topicsSent holds, for each active topic this worker queued, how
	// many of its connector's active topics had been removed then (see
	// recordTopic in topics.go).
	topicsSent map[string]map[string]uint64

	// ctx bounds every write; close cancels it once its flush is over, so
	// reports the topic does not take by then are dropped at once.
	ctx    context.Context
	cancel context.CancelFunc
}

type statusReport struct {
	conn   string
	task   int // -1: the connector
	status storage.Status
	remove bool // tombstones for the connector and its tasks
	// topic is an active topic to record; resetTopics asks for tombstones
	// for every active topic of the connector.
	topic       *storage.TopicStatus
	resetTopics bool
	seq         uint64
}

func (r statusReport) key() string {
	if r.remove {
		return "remove/" + r.conn
	}
	if r.resetTopics {
		return "reset-topics/" + r.conn
	}
	if r.topic != nil {
		return "topic/" + r.topic.Topic + "/" + r.conn // topic names hold no "/"
	}
	if r.task < 0 {
		return "connector/" + r.conn
	}
	return "task/" + herder.TaskID{Connector: r.conn, Task: r.task}.String()
}

func newStatusWriter(log *storage.StatusLog, worker string, logger *slog.Logger) *statusWriter {
	s := &statusWriter{log: log, logger: logger, worker: worker, pending: map[string]statusReport{}, tasks: map[herder.TaskID]storage.Status{}, topicsSent: map[string]map[string]uint64{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.idle = sync.NewCond(&s.mu)
	go s.run()
	return s
}

func (s *statusWriter) put(r statusReport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putLocked(r)
}

// putLocked queues r. Callers hold s.mu.
func (s *statusWriter) putLocked(r statusReport) {
	s.seq++
	r.seq = s.seq
	if s.closed {
		return
	}
	k := r.key()
	if _, ok := s.pending[k]; !ok {
		s.order = append(s.order, k)
	}
	s.pending[k] = r
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// connector reports a connector's state as owned by this worker in gen.
func (s *statusWriter) connector(name string, gen int32, state herder.State, trace string) {
	s.put(statusReport{conn: name, task: -1, status: storage.Status{State: state, Trace: trace, WorkerID: s.worker, Generation: gen}})
}

// task reports a task's state as owned by this worker in gen. The progress
// the task reported last stays, except on UNASSIGNED: a task let go or
// starting anew has none yet.
func (s *statusWriter) task(id herder.TaskID, gen int32, state herder.State, trace string) {
	s.taskEOS(id, gen, state, trace, false)
}

// taskEOS is task for a task that runs exactly once when eos is set: its
// RUNNING and PAUSED reports say so.
func (s *statusWriter) taskEOS(id herder.TaskID, gen int32, state herder.State, trace string, eos bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := storage.Status{State: state, Trace: trace, WorkerID: s.worker, Generation: gen,
		ExactlyOnce: eos && (state == herder.Running || state == herder.Paused)}
	if prev, ok := s.tasks[id]; ok && prev.Generation == gen && state != herder.Unassigned {
		st.Progress = prev.Progress
	}
	s.tasks[id] = st
	s.putLocked(statusReport{conn: id.Connector, task: id.Task, status: st})
}

// taskProgress reports a running task's progress: its last status again,
// with the progress. A report of an incarnation this worker no longer
// runs in gen is dropped.
func (s *statusWriter) taskProgress(id herder.TaskID, gen int32, progress map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.tasks[id]
	if !ok || st.Generation != gen || st.State == herder.Unassigned {
		return
	}
	st.Progress = progress
	s.tasks[id] = st
	s.putLocked(statusReport{conn: id.Connector, task: id.Task, status: st})
}

// remove deletes a deleted connector's statuses.
func (s *statusWriter) remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.tasks {
		if id.Connector == name {
			delete(s.tasks, id)
		}
	}
	s.putLocked(statusReport{conn: name, remove: true})
}

func (s *statusWriter) run() {
	defer close(s.done)
	for {
		s.mu.Lock()
		for len(s.order) == 0 && !s.closed {
			s.busy = false
			s.idle.Broadcast()
			s.mu.Unlock()
			<-s.wake
			s.mu.Lock()
		}
		if len(s.order) == 0 && s.closed {
			s.busy = false
			s.idle.Broadcast()
			s.mu.Unlock()
			return
		}
		k := s.order[0]
		r := s.pending[k]
		s.busy = true
		s.mu.Unlock()

		err := s.send(r)

		s.mu.Lock()
		if err != nil {
			closed := s.closed
			s.mu.Unlock()
			if closed {
				s.logger.Warn("status report not written before shutdown", "key", k, "error", err)
				s.mu.Lock()
				s.drop(k, r)
				s.mu.Unlock()
				continue
			}
			s.logger.Warn("status report not written; retrying", "key", k, "error", err)
			select {
			case <-s.ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		s.drop(k, r)
		s.mu.Unlock()
	}
}

// drop forgets the report for k unless a newer one replaced it meanwhile.
func (s *statusWriter) drop(k string, sent statusReport) {
	if cur, ok := s.pending[k]; ok && cur.seq == sent.seq {
		delete(s.pending, k)
		s.order = s.order[1:]
		return
	}
	// Replaced while in flight: send the newer one next, from the front.
}

func (s *statusWriter) send(r statusReport) error {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	// As Kafka Connect: UNASSIGNED (a worker letting go) is written only
	// if no newer generation's owner has reported since, so a worker that
	// fell behind never hides the new owner's state; the other states
	// come from the instance's current owner and are written as they are.
	safe := r.status.State == herder.Unassigned
	id := herder.TaskID{Connector: r.conn, Task: r.task}
	var err error
	switch {
	case r.remove:
		err = s.log.Delete(ctx, r.conn)
	case r.topic != nil:
		err = s.log.PutTopic(ctx, *r.topic)
	case r.resetTopics:
		err = s.log.ResetTopics(ctx, r.conn)
	case r.task < 0 && safe:
		_, err = s.log.PutConnectorSafe(ctx, r.conn, r.status)
	case r.task < 0:
		err = s.log.PutConnector(ctx, r.conn, r.status)
	case safe:
		_, err = s.log.PutTaskSafe(ctx, id, r.status)
	default:
		err = s.log.PutTask(ctx, id, r.status)
	}
	return err
}

// flush waits until every report made so far is written, or ctx ends.
func (s *statusWriter) flush(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		s.mu.Lock()
		for len(s.order) > 0 || s.busy {
			s.idle.Wait()
		}
		s.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// close flushes (bounded by ctx) and ends the writer.
func (s *statusWriter) close(ctx context.Context) {
	s.flush(ctx)
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	<-s.done
}
