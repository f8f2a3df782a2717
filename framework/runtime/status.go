package runtime

import (
	"sync"

	"github.com/connectd/connectd/framework/herder"
)

// statusBoard holds the states of one worker's connectors and tasks. Each
// task incarnation reports through its own reporter: a reporter of a task
// that was replaced (restarted) is ignored, so a late report of a stopping
// task never overwrites its successor's state.
type statusBoard struct {
	workerID string
	mu       sync.Mutex
	conns    map[string]*connStatus
	gen      uint64
}

type connStatus struct {
	state herder.ConnectorState
	tasks []taskStatus
}

type taskStatus struct {
	state herder.TaskState
	gen   uint64
}

func newStatusBoard(workerID string) *statusBoard {
	return &statusBoard{workerID: workerID, conns: map[string]*connStatus{}}
}

func (b *statusBoard) get(name string) *connStatus {
	c := b.conns[name]
	if c == nil {
		c = &connStatus{state: herder.ConnectorState{State: herder.Unassigned, WorkerID: b.workerID}}
		b.conns[name] = c
	}
	return c
}

func (b *statusBoard) setConnector(name string, s herder.State, trace string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.get(name).state = herder.ConnectorState{State: s, WorkerID: b.workerID, Trace: trace}
}

// setTasks sizes the task list to n.
func (b *statusBoard) setTasks(name string, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.get(name)
	for len(c.tasks) < n {
		c.tasks = append(c.tasks, taskStatus{state: herder.TaskState{ID: len(c.tasks), State: herder.Unassigned, WorkerID: b.workerID}})
	}
	c.tasks = c.tasks[:n]
}

// taskReporter returns the StateFunc and ProgressFunc of a new incarnation
// of task id. A state change keeps the progress last reported: a task that
// failed still shows how far it got.
func (b *statusBoard) taskReporter(id herder.TaskID) (StateFunc, ProgressFunc) {
	b.mu.Lock()
	b.gen++
	gen := b.gen
	c := b.get(id.Connector)
	for len(c.tasks) <= id.Task {
		c.tasks = append(c.tasks, taskStatus{state: herder.TaskState{ID: len(c.tasks), State: herder.Unassigned, WorkerID: b.workerID}})
	}
	c.tasks[id.Task].gen = gen
	c.tasks[id.Task].state.Progress = nil
	b.mu.Unlock()
	// current returns the task's entry while this incarnation owns it.
	// Callers hold b.mu.
	current := func() *taskStatus {
		c := b.conns[id.Connector]
		if c == nil || id.Task >= len(c.tasks) || c.tasks[id.Task].gen != gen {
			return nil
		}
		return &c.tasks[id.Task]
	}
	report := func(s herder.State, trace string) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if ts := current(); ts != nil {
			ts.state = herder.TaskState{ID: id.Task, State: s, WorkerID: b.workerID, Trace: trace, Progress: ts.state.Progress}
		}
	}
	progress := func(p map[string]any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if ts := current(); ts != nil {
			ts.state.Progress = p
		}
	}
	return report, progress
}

func (b *statusBoard) connectorStatus(name string) herder.ConnectorStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.get(name)
	st := herder.ConnectorStatus{Name: name, Connector: c.state, Tasks: make([]herder.TaskState, len(c.tasks))}
	for i, t := range c.tasks {
		st.Tasks[i] = t.state
	}
	return st
}

func (b *statusBoard) task(id herder.TaskID) (herder.TaskState, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.conns[id.Connector]
	if c == nil || id.Task < 0 || id.Task >= len(c.tasks) {
		return herder.TaskState{}, false
	}
	return c.tasks[id.Task].state, true
}

func (b *statusBoard) remove(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.conns, name)
}
