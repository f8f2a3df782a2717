package api

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/herder"
)

// memHerder is a small in-memory herder.Herder for routing and JSON shape
// tests: connectors are configs, every task of a started connector runs on
// one worker. The real herders have their own end-to-end REST tests.
type memHerder struct {
	mu         sync.Mutex
	connectors map[string]*memConnector
	plugins    []memPlugin
	// fail makes method (for connector name, or "" for any) return an error.
	fail map[string]error
	// failedTasks are reported FAILED with a trace.
	failedTasks map[herder.TaskID]bool
	// calls records the mutating calls, for tests to check.
	calls []string
	// validated is the last config Validate saw.
	validated map[string]string
	// offsets are each connector's offsets, for the offsets endpoints.
	offsets map[string][]herder.ConnectorOffset
}

type memConnector struct {
	config map[string]string
	target herder.TargetState
	typ    herder.ConnectorType
}

type memPlugin struct {
	info herder.PluginInfo
	def  *connect.ConfigDef
}

const testWorker = "worker-1:8083"

// errBlock makes a method wait for its context; errPanic makes it panic.
var (
	errBlock = errors.New("block until the context ends")
	errPanic = errors.New("panic")
)

var datagenDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "connector.class", Type: connect.TypeClass, Required: true, Importance: connect.High, Doc: "The plugin."},
	connect.ConfigKey{Name: "tasks.max", Type: connect.TypeInt, Default: "1", Importance: connect.High, Doc: "Most tasks.", Validator: connect.AtLeast(1)},
	connect.ConfigKey{Name: "topic", Type: connect.TypeString, Required: true, Importance: connect.High, Doc: "Where records go.", Group: "Output"},
)

func newMemHerder() *memHerder {
	return &memHerder{
		connectors:  map[string]*memConnector{},
		fail:        map[string]error{},
		failedTasks: map[herder.TaskID]bool{},
		offsets:     map[string][]herder.ConnectorOffset{},
		plugins: []memPlugin{
			{info: herder.PluginInfo{Class: "datagen", Type: "source", Version: "0.1.0"}, def: datagenDef},
			{info: herder.PluginInfo{Class: "file-sink", Type: "sink", Version: "0.1.0"}, def: datagenDef},
			{info: herder.PluginInfo{Class: "org.apache.kafka.connect.transforms.InsertField$Value", Type: "transformation"}},
		},
	}
}

// seeded returns a herder holding "src" (datagen, 2 tasks) and "out"
// (file-sink, 1 task).
func seeded() *memHerder {
	h := newMemHerder()
	h.connectors["src"] = &memConnector{
		config: map[string]string{"name": "src", "connector.class": "datagen", "tasks.max": "2", "topic": "t"},
		target: herder.TargetStarted, typ: herder.Source,
	}
	h.connectors["out"] = &memConnector{
		config: map[string]string{"name": "out", "connector.class": "file-sink", "topic": "t"},
		target: herder.TargetStarted, typ: herder.Sink,
	}
	return h
}

// check returns the injected error for method and connector, if any.
// Called with h.mu held.
func (h *memHerder) check(ctx context.Context, method, name string) error {
	err, ok := h.fail[method+"/"+name]
	if !ok {
		err, ok = h.fail[method+"/"]
	}
	if !ok {
		return nil
	}
	switch err {
	case errBlock:
		h.mu.Unlock()
		<-ctx.Done()
		h.mu.Lock()
		return ctx.Err()
	case errPanic:
		panic("memHerder: injected panic") // the caller's deferred Unlock runs
	}
	return err
}

func (h *memHerder) ClusterInfo(ctx context.Context) (herder.ServerInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.check(ctx, "ClusterInfo", ""); err != nil {
		return herder.ServerInfo{}, err
	}
	return herder.ServerInfo{Version: "0.1.0", Commit: "abc123", KafkaClusterID: "cluster-1"}, nil
}

func (h *memHerder) Connectors(ctx context.Context) ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.check(ctx, "Connectors", ""); err != nil {
		return nil, err
	}
	if len(h.connectors) == 0 {
		return nil, nil // the API must still send []
	}
	return slices.Sorted(maps.Keys(h.connectors)), nil
}

func (h *memHerder) get(ctx context.Context, method, name string) (*memConnector, error) {
	if err := h.check(ctx, method, name); err != nil {
		return nil, err
	}
	c, ok := h.connectors[name]
	if !ok {
		return nil, herder.NotFound("Connector %s not found", name)
	}
	return c, nil
}

func (c *memConnector) taskCount() int {
	if c.target == herder.TargetStopped {
		return 0
	}
	n, err := strconv.Atoi(c.config["tasks.max"])
	if err != nil || n < 1 {
		return 1
	}
	return n
}

func (h *memHerder) info(name string, c *memConnector) herder.ConnectorInfo {
	info := herder.ConnectorInfo{Name: name, Config: maps.Clone(c.config), Type: c.typ}
	for i := range c.taskCount() {
		info.Tasks = append(info.Tasks, herder.TaskID{Connector: name, Task: i})
	}
	return info
}

func (h *memHerder) ConnectorInfo(ctx context.Context, name string) (herder.ConnectorInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.get(ctx, "ConnectorInfo", name)
	if err != nil {
		return herder.ConnectorInfo{}, err
	}
	return h.info(name, c), nil
}

func (h *memHerder) ConnectorConfig(ctx context.Context, name string) (map[string]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.get(ctx, "ConnectorConfig", name)
	if err != nil {
		return nil, err
	}
	return maps.Clone(c.config), nil
}

func (h *memHerder) PutConnectorConfig(ctx context.Context, name string, config map[string]string, allowReplace bool) (herder.ConnectorInfo, bool, error) {
	return h.put(ctx, name, config, allowReplace, herder.TargetStarted)
}

// CreateConnectorInState makes memHerder an InitialStateCreator.
func (h *memHerder) CreateConnectorInState(ctx context.Context, name string, config map[string]string, state herder.TargetState) (herder.ConnectorInfo, error) {
	info, _, err := h.put(ctx, name, config, false, state)
	return info, err
}

func (h *memHerder) put(ctx context.Context, name string, config map[string]string, allowReplace bool, state herder.TargetState) (herder.ConnectorInfo, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.check(ctx, "PutConnectorConfig", name); err != nil {
		return herder.ConnectorInfo{}, false, err
	}
	old, exists := h.connectors[name]
	if exists && !allowReplace {
		return herder.ConnectorInfo{}, false, herder.ErrAlreadyExists // a bare sentinel: the API words it
	}
	p, ok := h.plugin(config["connector.class"])
	if !ok || p.def == nil {
		return herder.ConnectorInfo{}, false, herder.BadRequest("Failed to find any class that implements Connector and which name matches %s", config["connector.class"])
	}
	if v := herder.Validation(p.info.Class, p.def, config, nil); v.ErrorCount > 0 {
		return herder.ConnectorInfo{}, false, &herder.ValidationError{Infos: v}
	}
	c := &memConnector{config: maps.Clone(config), target: state, typ: herder.ConnectorType(p.info.Type)}
	if exists {
		c.target = old.target
	}
	h.connectors[name] = c
	h.calls = append(h.calls, "put "+name+" "+string(c.target))
	return h.info(name, c), !exists, nil
}

func (h *memHerder) plugin(class string) (memPlugin, bool) {
	for _, p := range h.plugins {
		if p.info.Class == class {
			return p, true
		}
	}
	return memPlugin{}, false
}

func (h *memHerder) DeleteConnector(ctx context.Context, name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, err := h.get(ctx, "DeleteConnector", name); err != nil {
		return err
	}
	delete(h.connectors, name)
	h.calls = append(h.calls, "delete "+name)
	return nil
}

func (h *memHerder) state(c *memConnector) herder.State {
	switch c.target {
	case herder.TargetPaused:
		return herder.Paused
	case herder.TargetStopped:
		return herder.Stopped
	}
	return herder.Running
}

func (h *memHerder) status(name string, c *memConnector) herder.ConnectorStatus {
	st := herder.ConnectorStatus{
		Name:      name,
		Connector: herder.ConnectorState{State: h.state(c), WorkerID: testWorker},
		Type:      c.typ,
	}
	for i := range c.taskCount() {
		st.Tasks = append(st.Tasks, h.taskState(herder.TaskID{Connector: name, Task: i}, c))
	}
	return st
}

func (h *memHerder) taskState(id herder.TaskID, c *memConnector) herder.TaskState {
	ts := herder.TaskState{ID: id.Task, State: h.state(c), WorkerID: testWorker}
	if h.failedTasks[id] {
		ts.State, ts.Trace = herder.Failed, "boom"
	}
	return ts
}

func (h *memHerder) ConnectorStatus(ctx context.Context, name string) (herder.ConnectorStatus, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.check(ctx, "ConnectorStatus", name); err != nil {
		return herder.ConnectorStatus{}, err
	}
	c, ok := h.connectors[name]
	if !ok {
		return herder.ConnectorStatus{}, herder.NotFound("No status found for connector %s", name)
	}
	return h.status(name, c), nil
}

func (h *memHerder) TaskStatus(ctx context.Context, id herder.TaskID) (herder.TaskState, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.check(ctx, "TaskStatus", id.Connector); err != nil {
		return herder.TaskState{}, err
	}
	c, ok := h.connectors[id.Connector]
	if !ok || id.Task < 0 || id.Task >= c.taskCount() {
		return herder.TaskState{}, herder.NotFound("No status found for task %s", id)
	}
	return h.taskState(id, c), nil
}

func (h *memHerder) TaskConfigs(ctx context.Context, name string) ([]herder.TaskInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.get(ctx, "TaskConfigs", name)
	if err != nil {
		return nil, err
	}
	var out []herder.TaskInfo
	for i := range c.taskCount() {
		out = append(out, herder.TaskInfo{
			ID:     herder.TaskID{Connector: name, Task: i},
			Config: map[string]string{"topic": c.config["topic"], "task.id": strconv.Itoa(i)},
		})
	}
	return out, nil
}

func (h *memHerder) RestartConnector(ctx context.Context, name string, includeTasks, onlyFailed bool) (herder.ConnectorStatus, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.get(ctx, "RestartConnector", name)
	if err != nil {
		return herder.ConnectorStatus{}, err
	}
	h.calls = append(h.calls, "restart "+name+" includeTasks="+strconv.FormatBool(includeTasks)+" onlyFailed="+strconv.FormatBool(onlyFailed))
	st := h.status(name, c)
	if !onlyFailed {
		st.Connector.State = herder.Restarting
	}
	if includeTasks {
		for i := range st.Tasks {
			if !onlyFailed || st.Tasks[i].State == herder.Failed {
				st.Tasks[i].State, st.Tasks[i].Trace = herder.Restarting, ""
			}
		}
	}
	return st, nil
}

func (h *memHerder) RestartTask(ctx context.Context, id herder.TaskID) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.get(ctx, "RestartTask", id.Connector)
	if err != nil {
		return err
	}
	if id.Task < 0 || id.Task >= c.taskCount() {
		return herder.NotFound("Unknown task: %s", id)
	}
	h.calls = append(h.calls, "restart task "+id.String())
	return nil
}

func (h *memHerder) SetTargetState(ctx context.Context, name string, state herder.TargetState) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.get(ctx, "SetTargetState", name)
	if err != nil {
		return err
	}
	c.target = state
	h.calls = append(h.calls, "target "+name+" "+string(state))
	return nil
}

func (h *memHerder) Plugins(ctx context.Context) ([]herder.PluginInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.check(ctx, "Plugins", ""); err != nil {
		return nil, err
	}
	var out []herder.PluginInfo
	for _, p := range h.plugins {
		out = append(out, p.info)
	}
	return out, nil
}

func (h *memHerder) PluginConfig(ctx context.Context, plugin string) ([]herder.ConfigKeyInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.plugin(plugin)
	if !ok || p.def == nil {
		return nil, herder.NotFound("Unknown plugin %s.", plugin)
	}
	return herder.KeyInfos(p.def), nil
}

func (h *memHerder) Validate(ctx context.Context, plugin string, config map[string]string) (herder.ConfigInfos, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.validated = maps.Clone(config)
	p, ok := h.plugin(plugin)
	if !ok || p.def == nil {
		return herder.ConfigInfos{}, herder.NotFound("Unknown plugin %s.", plugin)
	}
	if c := config["connector.class"]; c != plugin && c != p.info.Class {
		return herder.ConfigInfos{}, herder.BadRequest("Included connector type %s does not match request type %s", c, plugin)
	}
	return herder.Validation(p.info.Class, p.def, config, nil), nil
}

// snapshot returns the recorded calls.
func (h *memHerder) snapshot() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

var (
	_ herder.Herder       = (*memHerder)(nil)
	_ InitialStateCreator = (*memHerder)(nil)
)
