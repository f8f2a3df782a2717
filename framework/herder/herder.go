package herder

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/connectd/connectd/framework/connect"
)

// Herder manages connectors and their tasks. Every method is safe for
// concurrent use. Errors are one of the errors below, or a *RequestError
// with an HTTP status, so the REST API can answer with the right code.
type Herder interface {
	// ClusterInfo answers GET /.
	ClusterInfo(ctx context.Context) (ServerInfo, error)

	// Connectors lists connector names, sorted.
	Connectors(ctx context.Context) ([]string, error)
	ConnectorInfo(ctx context.Context, name string) (ConnectorInfo, error)
	ConnectorConfig(ctx context.Context, name string) (map[string]string, error)
	// PutConnectorConfig creates or replaces a connector's config. With
	// allowReplace false an existing connector is ErrAlreadyExists. created
	// says whether the connector is new. The config is validated first; a
	// bad one is a *ValidationError.
	PutConnectorConfig(ctx context.Context, name string, config map[string]string, allowReplace bool) (info ConnectorInfo, created bool, err error)
	DeleteConnector(ctx context.Context, name string) error

	ConnectorStatus(ctx context.Context, name string) (ConnectorStatus, error)
	TaskStatus(ctx context.Context, id TaskID) (TaskState, error)
	TaskConfigs(ctx context.Context, name string) ([]TaskInfo, error)

	// RestartConnector restarts the connector and, with includeTasks, its
	// tasks (only the failed ones with onlyFailed). It returns the status
	// with the instances being restarted marked RESTARTING.
	RestartConnector(ctx context.Context, name string, includeTasks, onlyFailed bool) (ConnectorStatus, error)
	RestartTask(ctx context.Context, id TaskID) error
	// SetTargetState pauses, resumes or stops a connector.
	SetTargetState(ctx context.Context, name string, state TargetState) error

	// Plugins lists the connector plugins this worker can run.
	Plugins(ctx context.Context) ([]PluginInfo, error)
	// PluginConfig describes a plugin's config keys, framework keys included.
	PluginConfig(ctx context.Context, plugin string) ([]ConfigKeyInfo, error)
	// Validate checks a config against the plugin it names.
	Validate(ctx context.Context, plugin string, config map[string]string) (ConfigInfos, error)
}

// Errors a Herder returns; the REST API maps them to status codes.
var (
	ErrNotFound      = errors.New("not found")             // 404
	ErrAlreadyExists = errors.New("already exists")        // 409
	ErrRebalancing   = errors.New("rebalance in progress") // 409
)

// NotFound returns an error matching ErrNotFound with Kafka Connect's message.
func NotFound(format string, args ...any) error {
	return &RequestError{Status: 404, Message: fmt.Sprintf(format, args...), Err: ErrNotFound}
}

// RequestError carries an HTTP status and a message meant for the client.
type RequestError struct {
	Status  int
	Message string
	Err     error
}

func (e *RequestError) Error() string { return e.Message }
func (e *RequestError) Unwrap() error { return e.Err }

// BadRequest returns a 400 RequestError.
func BadRequest(format string, args ...any) error {
	return &RequestError{Status: 400, Message: fmt.Sprintf(format, args...)}
}

// ValidationError is returned when a connector config is invalid.
type ValidationError struct {
	Infos ConfigInfos
}

func (e *ValidationError) Error() string {
	msg := fmt.Sprintf("Connector configuration is invalid and contains the following %d error(s):", e.Infos.ErrorCount)
	for _, c := range e.Infos.Configs {
		for _, m := range c.Value.Errors {
			msg += "\n" + m
		}
	}
	return msg + "\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`"
}

// ServerInfo is the body of GET /.
type ServerInfo struct {
	Version        string `json:"version"`
	Commit         string `json:"commit"`
	KafkaClusterID string `json:"kafka_cluster_id"`
}

// ConnectorType is "source" or "sink".
type ConnectorType string

const (
	Source  ConnectorType = "source"
	Sink    ConnectorType = "sink"
	Unknown ConnectorType = "unknown"
)

// TaskID names one task.
type TaskID struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
}

func (id TaskID) String() string { return fmt.Sprintf("%s-%d", id.Connector, id.Task) }

// ConnectorInfo is the body of GET /connectors/{c}.
type ConnectorInfo struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
	Tasks  []TaskID          `json:"tasks"`
	Type   ConnectorType     `json:"type"`
}

// TaskInfo is one element of GET /connectors/{c}/tasks.
type TaskInfo struct {
	ID     TaskID            `json:"id"`
	Config map[string]string `json:"config"`
}

// State is the runtime state of a connector or task.
type State string

const (
	Unassigned State = "UNASSIGNED"
	Running    State = "RUNNING"
	Paused     State = "PAUSED"
	Failed     State = "FAILED"
	Restarting State = "RESTARTING"
	Stopped    State = "STOPPED"
)

// TargetState is what an operator asked a connector to be.
type TargetState string

const (
	TargetStarted TargetState = "STARTED"
	TargetPaused  TargetState = "PAUSED"
	TargetStopped TargetState = "STOPPED"
)

// ConnectorState is the connector part of a status response.
type ConnectorState struct {
	State    State  `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

// TaskState is one task of a status response.
type TaskState struct {
	ID       int    `json:"id"`
	State    State  `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
	// Progress is what the task last reported of its progress (see
	// connect.ProgressReporter), such as a snapshot's tables and rows
	// done; absent when it reports none. A connectd addition to Kafka
	// Connect's status.
	Progress map[string]any `json:"progress,omitempty"`
	// ExactlyOnce says the task runs exactly once: its records and
	// offsets go in transactions (KIP-618). A connectd addition.
	ExactlyOnce bool `json:"exactly_once,omitempty"`
}

// ConnectorStatus is the body of GET /connectors/{c}/status.
type ConnectorStatus struct {
	Name      string         `json:"name"`
	Connector ConnectorState `json:"connector"`
	Tasks     []TaskState    `json:"tasks"`
	Type      ConnectorType  `json:"type"`
	// ExactlyOnce says, for a source connector, whether its tasks run
	// exactly once (KIP-618): every task reports that it does. Absent for
	// sinks. A connectd addition to Kafka Connect's status.
	ExactlyOnce *ExactlyOnceStatus `json:"exactly_once,omitempty"`
}

// ExactlyOnceStatus is how a source connector delivers.
type ExactlyOnceStatus struct {
	// Enabled: records and offsets are written in transactions.
	Enabled bool `json:"enabled"`
	// TransactionBoundary is the connector's transaction.boundary when
	// Enabled.
	TransactionBoundary string `json:"transaction_boundary,omitempty"`
}

// PluginInfo is one element of GET /connector-plugins.
type PluginInfo struct {
	Class   string `json:"class"`
	Type    string `json:"type"`
	Version string `json:"version,omitempty"`
}

// ConfigKeyInfo describes one config key, as GET
// /connector-plugins/{p}/config and the validate response show it.
type ConfigKeyInfo struct {
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	Required      bool     `json:"required"`
	DefaultValue  *string  `json:"default_value"`
	Importance    string   `json:"importance"`
	Documentation string   `json:"documentation"`
	Group         *string  `json:"group"`
	OrderInGroup  int      `json:"order_in_group"`
	Width         string   `json:"width"`
	DisplayName   string   `json:"display_name"`
	Dependents    []string `json:"dependents"`
	Order         int      `json:"order"`
}

// ConfigValueInfo is the value part of one validate result.
type ConfigValueInfo struct {
	Name              string   `json:"name"`
	Value             *string  `json:"value"`
	RecommendedValues []string `json:"recommended_values"`
	Errors            []string `json:"errors"`
	Visible           bool     `json:"visible"`
}

// ConfigInfo is one key of a validate response.
type ConfigInfo struct {
	Definition ConfigKeyInfo   `json:"definition"`
	Value      ConfigValueInfo `json:"value"`
}

// ConfigInfos is the body of PUT /connector-plugins/{p}/config/validate.
type ConfigInfos struct {
	Name       string       `json:"name"`
	ErrorCount int          `json:"error_count"`
	Groups     []string     `json:"groups"`
	Configs    []ConfigInfo `json:"configs"`
}

// KeyInfos turns a ConfigDef into the REST shape.
func KeyInfos(def *connect.ConfigDef) []ConfigKeyInfo {
	keys := def.Keys()
	out := make([]ConfigKeyInfo, 0, len(keys))
	inGroup := map[string]int{}
	for i, k := range keys {
		ki := ConfigKeyInfo{
			Name: k.Name, Type: string(k.Type), Required: k.Required,
			Importance: string(k.Importance), Documentation: k.Doc,
			Width: string(k.Width), DisplayName: k.DisplayName,
			Dependents: k.Dependents, Order: i + 1,
		}
		if ki.DisplayName == "" {
			ki.DisplayName = k.Name
		}
		if ki.Dependents == nil {
			ki.Dependents = []string{}
		}
		if !k.Required {
			d := k.Default
			if k.Type == connect.TypePassword && d != "" {
				d = "[hidden]"
			}
			ki.DefaultValue = &d
		}
		if k.Group != "" {
			g := k.Group
			ki.Group = &g
			inGroup[g]++
			ki.OrderInGroup = inGroup[g]
		}
		out = append(out, ki)
	}
	return out
}

// Validation turns ConfigDef results into a validate response. extra holds
// messages from a connector's own Validator, keyed by config name.
func Validation(plugin string, def *connect.ConfigDef, config map[string]string, extra map[string][]string) ConfigInfos {
	infos := ConfigInfos{Name: plugin, Groups: []string{}, Configs: []ConfigInfo{}}
	keys := KeyInfos(def)
	for i, v := range def.Validate(config) {
		infos.Add(keys[i], v, extra[v.Name])
	}
	return infos
}

// Add appends the result of one key: its definition k, its validation v
// and further messages. It numbers the key after those before it, lists
// its group, hides a password's value and counts the errors.
func (infos *ConfigInfos) Add(k ConfigKeyInfo, v connect.ConfigValue, extra []string) {
	k.Order = len(infos.Configs) + 1
	if k.Group != nil && !slices.Contains(infos.Groups, *k.Group) {
		infos.Groups = append(infos.Groups, *k.Group)
	}
	errs := append(append([]string{}, v.Errors...), extra...)
	val := v.Value
	if k.Type == string(connect.TypePassword) && val != nil && *val != "" {
		hidden := "[hidden]"
		val = &hidden
	}
	rec := v.RecommendedValues
	if rec == nil {
		rec = []string{}
	}
	infos.ErrorCount += len(errs)
	infos.Configs = append(infos.Configs, ConfigInfo{
		Definition: k,
		Value:      ConfigValueInfo{Name: v.Name, Value: val, RecommendedValues: rec, Errors: errs, Visible: v.Visible},
	})
}

// TaskConfigWriter is implemented by herders of a cluster, where the worker
// running a connector hands the task configs it generated to the leader
// (Kafka Connect's internal POST /connectors/{c}/tasks).
type TaskConfigWriter interface {
	PutTaskConfigs(ctx context.Context, name string, configs []map[string]string) error
}

type forwardedKey struct{}

// WithForwarded marks ctx as carrying a request another worker forwarded:
// the REST client says so in a header, and a herder that is not the
// leader then answers 409 instead of forwarding again.
func WithForwarded(ctx context.Context) context.Context {
	return context.WithValue(ctx, forwardedKey{}, true)
}

// Forwarded reports whether ctx carries a forwarded request.
func Forwarded(ctx context.Context) bool {
	v, _ := ctx.Value(forwardedKey{}).(bool)
	return v
}
