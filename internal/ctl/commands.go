package ctl

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/herder"
)

func (e *env) info() error {
	si, err := e.client.ServerInfo(e.ctx)
	if err != nil {
		return err
	}
	return e.print(si, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "URL:\t%s\n", e.resolved.URL)
		if e.resolvedName != "" {
			fmt.Fprintf(w, "Context:\t%s\n", e.resolvedName)
		}
		fmt.Fprintf(w, "Version:\t%s\nCommit:\t%s\nKafka cluster:\t%s\n", si.Version, si.Commit, si.KafkaClusterID)
	})
}

// taskCounts says how many of a status's tasks run, and how many failed.
func taskCounts(st *herder.ConnectorStatus) (running, failed, total int) {
	if st == nil {
		return 0, 0, 0
	}
	for _, t := range st.Tasks {
		switch t.State {
		case herder.Running:
			running++
		case herder.Failed:
			failed++
		}
	}
	return running, failed, len(st.Tasks)
}

func (e *env) getConnectors(names []string) error {
	all, err := e.client.ConnectorsExpanded(e.ctx, "status", "info")
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	if len(names) > 0 || e.regexp != "" || e.all {
		sel, err := e.selectConnectors(names)
		if err != nil {
			return err
		}
		for _, n := range sel {
			if _, ok := all[n]; !ok {
				return &exitError{exitNotFound, fmt.Errorf("connector %s not found", n)}
			}
			keep[n] = true
		}
	}
	out := map[string]api.ConnectorExpansion{}
	for n, x := range all {
		if len(keep) == 0 || keep[n] {
			out[n] = x
		}
	}
	return e.print(out, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "NAME\tTYPE\tSTATE\tTASKS\tFAILED\tWORKER\tCLASS")
		for _, n := range sortedKeys(out) {
			x := out[n]
			typ, state, worker, class := "", "", "", ""
			if x.Status != nil {
				typ, state, worker = string(x.Status.Type), string(x.Status.Connector.State), x.Status.Connector.WorkerID
			}
			if x.Info != nil {
				class = x.Info.Config["connector.class"]
				if typ == "" {
					typ = string(x.Info.Type)
				}
			}
			running, failed, total := taskCounts(x.Status)
			fmt.Fprintf(w, "%s\t%s\t%s\t%d/%d\t%d\t%s\t%s\n", n, typ, state, running, total, failed, worker, class)
		}
	})
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (e *env) getPlugins() error {
	ps, err := e.client.Plugins(e.ctx, false)
	if err != nil {
		return err
	}
	return e.print(ps, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "CLASS\tTYPE\tVERSION")
		for _, p := range ps {
			fmt.Fprintf(w, "%s\t%s\t%s\n", p.Class, p.Type, p.Version)
		}
	})
}

func (e *env) getLoggers() error {
	ls, err := e.client.LoggerLevels(e.ctx)
	if err != nil {
		return err
	}
	return e.print(ls, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "LOGGER\tLEVEL\tLAST MODIFIED")
		for _, n := range sortedKeys(ls) {
			lm := "-"
			if l := ls[n].LastModified; l != nil {
				lm = strconv.FormatInt(*l, 10)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", n, ls[n].Level, lm)
		}
	})
}

// description is describe connector's view of one connector.
type description struct {
	Name    string                   `json:"name"`
	Info    herder.ConnectorInfo     `json:"info"`
	Status  herder.ConnectorStatus   `json:"status"`
	Topics  []string                 `json:"topics"`
	Offsets []herder.ConnectorOffset `json:"offsets"`
	// Unavailable says which parts the API did not give (an older Kafka
	// Connect has no topics or offsets endpoints).
	Unavailable map[string]string `json:"unavailable,omitempty"`
}

func (e *env) describeConnectors(names []string) error {
	sel, err := e.selectConnectors(names)
	if err != nil {
		return err
	}
	var out []description
	for _, n := range sel {
		d := description{Name: n, Unavailable: map[string]string{}}
		if d.Info, err = e.client.Connector(e.ctx, n); err != nil {
			return err
		}
		if d.Status, err = e.client.ConnectorStatus(e.ctx, n); err != nil {
			return err
		}
		if d.Topics, err = e.client.ConnectorTopics(e.ctx, n); err != nil {
			d.Unavailable["topics"] = err.Error()
		}
		offs, err := e.client.ConnectorOffsets(e.ctx, n)
		if err != nil {
			d.Unavailable["offsets"] = err.Error()
		}
		d.Offsets = offs.Offsets
		if len(d.Unavailable) == 0 {
			d.Unavailable = nil
		}
		out = append(out, d)
	}
	var v any = out
	if len(out) == 1 {
		v = out[0]
	}
	return e.print(v, func(w *tabwriter.Writer) {
		for i, d := range out {
			if i > 0 {
				fmt.Fprintln(w)
			}
			writeDescription(w, d)
		}
	})
}

func writeDescription(w *tabwriter.Writer, d description) {
	fmt.Fprintf(w, "Name:\t%s\n", d.Name)
	fmt.Fprintf(w, "Type:\t%s\n", d.Info.Type)
	fmt.Fprintf(w, "State:\t%s\n", d.Status.Connector.State)
	fmt.Fprintf(w, "Worker:\t%s\n", d.Status.Connector.WorkerID)
	if d.Status.Connector.Trace != "" {
		fmt.Fprintf(w, "Trace:\t%s\n", indent(d.Status.Connector.Trace))
	}
	if eo := d.Status.ExactlyOnce; eo != nil {
		fmt.Fprintf(w, "Exactly once:\t%v %s\n", eo.Enabled, eo.TransactionBoundary)
	}
	fmt.Fprintln(w, "Config:")
	for _, k := range sortedKeys(d.Info.Config) {
		fmt.Fprintf(w, "  %s\t%s\n", k, d.Info.Config[k])
	}
	fmt.Fprintln(w, "Tasks:")
	fmt.Fprintln(w, "  ID\tSTATE\tWORKER")
	for _, t := range d.Status.Tasks {
		fmt.Fprintf(w, "  %d\t%s\t%s\n", t.ID, t.State, t.WorkerID)
		if len(t.Progress) > 0 {
			b, _ := json.Marshal(t.Progress)
			fmt.Fprintf(w, "    progress:\t%s\n", b)
		}
		if t.Trace != "" {
			fmt.Fprintf(w, "    trace:\t%s\n", indent(t.Trace))
		}
	}
	if msg, ok := d.Unavailable["topics"]; ok {
		fmt.Fprintf(w, "Topics:\t(not available: %s)\n", msg)
	} else {
		fmt.Fprintf(w, "Topics:\t%s\n", strings.Join(d.Topics, ", "))
	}
	if msg, ok := d.Unavailable["offsets"]; ok {
		fmt.Fprintf(w, "Offsets:\t(not available: %s)\n", msg)
		return
	}
	fmt.Fprintln(w, "Offsets:")
	fmt.Fprintln(w, "  PARTITION\tOFFSET")
	for _, o := range d.Offsets {
		fmt.Fprintf(w, "  %s\t%s\n", o.Partition, o.Offset)
	}
}

// indent keeps a multi-line trace inside its table cell's column.
func indent(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n\t")
}

func (e *env) describePlugin(args []string) error {
	if len(args) != 1 {
		return usageErr("describe plugin CLASS")
	}
	keys, err := e.client.PluginConfig(e.ctx, args[0])
	if err != nil {
		return err
	}
	return e.print(keys, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "NAME\tTYPE\tREQUIRED\tDEFAULT\tIMPORTANCE\tDOCUMENTATION")
		for _, k := range keys {
			def := "-"
			if k.DefaultValue != nil {
				def = *k.DefaultValue
			}
			doc := k.Documentation
			if len(doc) > 80 {
				doc = doc[:77] + "..."
			}
			fmt.Fprintf(w, "%s\t%s\t%v\t%s\t%s\t%s\n", k.Name, k.Type, k.Required, def, k.Importance, doc)
		}
	})
}

// bulk runs delete, pause, resume, stop or restart on the selected
// connectors, reporting each; the first failure decides the exit code.
func (e *env) bulk(cmd string, names []string) error {
	sel, err := e.selectConnectors(names)
	if err != nil {
		return err
	}
	var first error
	for _, n := range sel {
		var err error
		msg := ""
		switch cmd {
		case "delete":
			err, msg = e.client.DeleteConnector(e.ctx, n), "deleted"
		case "pause":
			err, msg = e.client.PauseConnector(e.ctx, n), "paused"
		case "resume":
			err, msg = e.client.ResumeConnector(e.ctx, n), "resumed"
		case "stop":
			err, msg = e.client.StopConnector(e.ctx, n), "stopped"
		case "restart":
			msg, err = e.restartConnector(n)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "connector %s: %v\n", n, err)
			if first == nil {
				first = err
			}
			continue
		}
		fmt.Fprintf(e.stdout, "connector %s %s\n", n, msg)
	}
	return first
}

// restartConnector restarts n; with --only-failed and --include-tasks it
// says which instances restart.
func (e *env) restartConnector(n string) (string, error) {
	st, err := e.client.RestartConnector(e.ctx, n, e.includeTasks, e.onlyFailed)
	if err != nil {
		return "", err
	}
	if st == nil {
		return "restarted", nil
	}
	var what []string
	if st.Connector.State == herder.Restarting {
		what = append(what, "connector")
	}
	for _, t := range st.Tasks {
		if t.State == herder.Restarting {
			what = append(what, "task "+strconv.Itoa(t.ID))
		}
	}
	if len(what) == 0 {
		return "restarted: nothing to restart", nil
	}
	return "restarted: " + strings.Join(what, ", "), nil
}

func (e *env) restartTask(args []string) error {
	if len(args) != 2 {
		return usageErr("restart task CONNECTOR TASK")
	}
	n, err := strconv.Atoi(args[1])
	if err != nil {
		return usageErr("restart task: %q is not a task number", args[1])
	}
	if err := e.client.RestartTask(e.ctx, args[0], n); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "task %s-%d restarted\n", args[0], n)
	return nil
}

// patch sets and removes keys of a connector's config: PATCH (Kafka
// Connect 3.9), or, where the API has no PATCH, GET and PUT.
func (e *env) patch(args []string) error {
	if len(args) != 1 {
		return usageErr("patch connector NAME --set key=value ... --unset key ...")
	}
	if len(e.sets)+len(e.unsets) == 0 {
		return usageErr("patch: nothing to change: give --set key=value or --unset key")
	}
	name := args[0]
	p := map[string]*string{}
	for _, kv := range e.sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageErr("--set %q: expected key=value", kv)
		}
		p[k] = &v
	}
	for _, k := range e.unsets {
		p[k] = nil
	}
	_, err := e.client.PatchConnectorConfig(e.ctx, name, p)
	var ae *api.APIError
	if errors.As(err, &ae) && ae.Code == http.StatusMethodNotAllowed {
		cfg, err := e.client.ConnectorConfig(e.ctx, name)
		if err != nil {
			return err
		}
		for k, v := range p {
			if v == nil {
				delete(cfg, k)
			} else {
				cfg[k] = *v
			}
		}
		_, _, err = e.client.PutConnectorConfig(e.ctx, name, cfg)
		if err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "connector %s patched\n", name)
	return nil
}

func (e *env) offsetsGet(args []string) error {
	if len(args) != 1 {
		return usageErr("offsets get CONNECTOR")
	}
	offs, err := e.client.ConnectorOffsets(e.ctx, args[0])
	if err != nil {
		return err
	}
	return e.print(offs, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "PARTITION\tOFFSET")
		for _, o := range offs.Offsets {
			fmt.Fprintf(w, "%s\t%s\n", o.Partition, o.Offset)
		}
	})
}

// offsetsPatch alters offsets from a file holding the REST body
// ({"offsets":[...]}) or one partition and offset given as JSON.
func (e *env) offsetsPatch(args []string) error {
	if len(args) != 1 {
		return usageErr("offsets patch CONNECTOR -f FILE | --partition JSON --offset JSON")
	}
	var body herder.ConnectorOffsets
	switch {
	case len(e.files) == 1 && e.partition == "":
		b, err := os.ReadFile(e.files[0])
		if err != nil {
			return &exitError{exitUsage, err}
		}
		if err := json.Unmarshal(b, &body); err != nil || body.Offsets == nil {
			return usageErr("%s: expected {\"offsets\":[{\"partition\":{...},\"offset\":{...}}]}: %v", e.files[0], err)
		}
	case len(e.files) == 0 && e.partition != "" && e.offset != "":
		if !json.Valid([]byte(e.partition)) || !json.Valid([]byte(e.offset)) {
			return usageErr("--partition and --offset take JSON (an offset of null removes it)")
		}
		body.Offsets = []herder.ConnectorOffset{{Partition: json.RawMessage(e.partition), Offset: json.RawMessage(e.offset)}}
	default:
		return usageErr("offsets patch: give -f FILE, or --partition and --offset")
	}
	msg, err := e.client.AlterConnectorOffsets(e.ctx, args[0], body.Offsets)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, msg.Message)
	return nil
}

func (e *env) offsetsReset(args []string) error {
	if len(args) != 1 {
		return usageErr("offsets reset CONNECTOR")
	}
	msg, err := e.client.ResetConnectorOffsets(e.ctx, args[0])
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, msg.Message)
	return nil
}

func (e *env) logLevel(args []string) error {
	switch len(args) {
	case 1:
		l, err := e.client.LoggerLevel(e.ctx, args[0])
		if err != nil {
			return err
		}
		return e.print(l, func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "%s\t%s\n", args[0], l.Level)
		})
	case 2:
		switch e.scope {
		case "worker", "cluster":
		default:
			return usageErr("--scope %q: use worker or cluster", e.scope)
		}
		changed, err := e.client.SetLoggerLevelScope(e.ctx, args[0], args[1], e.scope)
		if err != nil {
			return err
		}
		if e.scope == "cluster" {
			fmt.Fprintf(e.stdout, "logger %s set to %s on every worker\n", args[0], args[1])
			return nil
		}
		return e.print(changed, func(w *tabwriter.Writer) {
			for _, n := range changed {
				fmt.Fprintf(w, "logger %s set to %s\n", n, args[1])
			}
		})
	}
	return usageErr("log-level LOGGER [LEVEL] [--scope worker|cluster]")
}

func (e *env) configCmd(args []string) error {
	cfg, path, err := e.loadConfig()
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return usageErr("config: set-context, use-context, get-contexts, current-context or delete-context?")
	}
	switch args[0] {
	case "set-context":
		if len(args) != 2 {
			return usageErr("config set-context NAME --url URL [...]")
		}
		c := cfg.Contexts[args[1]]
		if c == nil {
			c = &Context{}
			cfg.Contexts[args[1]] = c
		}
		set := func(dst *string, name, v string) {
			if e.flagsSet[name] {
				*dst = v
			}
		}
		set(&c.URL, "url", e.url)
		set(&c.User, "user", e.user)
		set(&c.Password, "password", e.password)
		set(&c.Token, "token", e.token)
		set(&c.CAFile, "ca-file", e.caFile)
		set(&c.CertFile, "cert-file", e.certFile)
		set(&c.KeyFile, "key-file", e.keyFile)
		if e.flagsSet["insecure"] {
			c.Insecure = e.insecure
		}
		if c.URL == "" {
			return usageErr("config set-context %s: --url is required", args[1])
		}
		if cfg.CurrentContext == "" {
			cfg.CurrentContext = args[1]
		}
		if err := cfg.save(path); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "context %s set\n", args[1])
	case "use-context":
		if len(args) != 2 {
			return usageErr("config use-context NAME")
		}
		if cfg.Contexts[args[1]] == nil {
			return &exitError{exitNotFound, fmt.Errorf("no context %q in %s", args[1], path)}
		}
		cfg.CurrentContext = args[1]
		if err := cfg.save(path); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "using context %s\n", args[1])
	case "delete-context":
		if len(args) != 2 {
			return usageErr("config delete-context NAME")
		}
		if cfg.Contexts[args[1]] == nil {
			return &exitError{exitNotFound, fmt.Errorf("no context %q in %s", args[1], path)}
		}
		delete(cfg.Contexts, args[1])
		if cfg.CurrentContext == args[1] {
			cfg.CurrentContext = ""
		}
		if err := cfg.save(path); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "context %s deleted\n", args[1])
	case "current-context":
		if cfg.CurrentContext == "" {
			return &exitError{exitNotFound, errors.New("no current context")}
		}
		fmt.Fprintln(e.stdout, cfg.CurrentContext)
	case "get-contexts":
		type row struct {
			Name    string `json:"name"`
			Current bool   `json:"current"`
			URL     string `json:"url"`
			Auth    string `json:"auth"`
		}
		var rows []row
		for _, n := range cfg.names() {
			c := cfg.Contexts[n]
			auth := "none"
			switch {
			case c.Token != "":
				auth = "token"
			case c.User != "":
				auth = "basic (" + c.User + ")"
			}
			rows = append(rows, row{n, n == cfg.CurrentContext, c.URL, auth})
		}
		return e.print(rows, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "CURRENT\tNAME\tURL\tAUTH")
			for _, r := range rows {
				cur := ""
				if r.Current {
					cur = "*"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", cur, r.Name, r.URL, r.Auth)
			}
		})
	default:
		return usageErr("config %s: use set-context, use-context, get-contexts, current-context or delete-context", args[0])
	}
	return nil
}
