package ctl

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/connectd/connectd/api"
)

// Exit codes; see the package doc.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInvalid     = 3
	exitNotFound    = 4
	exitRefused     = 5
	exitUnreachable = 6
	exitConflict    = 7
)

// exitError carries the exit code of an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{exitUsage, fmt.Errorf(format, args...)}
}

// exitCode maps an error to the exit code scripts see.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ae *api.APIError
	if errors.As(err, &ae) {
		switch ae.Code {
		case http.StatusNotFound:
			return exitNotFound
		case http.StatusUnauthorized, http.StatusForbidden:
			return exitRefused
		case http.StatusConflict:
			return exitConflict
		}
		return exitFailed
	}
	var ne net.Error
	var op *net.OpError
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ce *tls.CertificateVerificationError
	if errors.As(err, &op) || errors.As(err, &ne) || errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ce) ||
		strings.Contains(err.Error(), "http: server gave HTTP response to HTTPS client") {
		return exitUnreachable
	}
	return exitFailed
}

// env is what a command runs with.
type env struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	// global flags
	url, context, configPath     string
	user, password, token        string
	caFile, certFile, keyFile    string
	insecure                     bool
	output                       string
	timeout                      time.Duration
	flagsSet                     map[string]bool
	cfg                          *Config
	client                       *api.Client
	resolved                     *Context
	resolvedName                 string
	regexp                       string
	all, dryRun                  bool
	files                        multiFlag
	includeTasks, onlyFailed     bool
	sets, unsets                 multiFlag
	scope                        string
	partition, offset, offsetsIn string
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// Run runs `connectd ctl` with args and returns its exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if getenv == nil {
		getenv = os.Getenv
	}
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	err := e.run(args)
	if err != nil {
		fmt.Fprintf(stderr, "connectd ctl: %v\n", err)
	}
	return exitCode(err)
}

const usageText = `usage: connectd ctl COMMAND [ARGS] [FLAGS]

Commands:
  info                                      the cluster's version and Kafka cluster id
  get connectors [NAME...|-e REGEX]         connectors with their state and tasks
  get plugins                               connector plugins
  get loggers                               log levels
  get offsets CONNECTOR                     a connector's offsets
  describe connector NAME...|-e REGEX       config, status, tasks with traces and progress, topics, offsets
  describe plugin CLASS                     a plugin's config keys
  apply -f FILE|DIR [-f ...] [--dry-run]    create or update connectors from .json or .properties files
  validate -f FILE | validate CLASS k=v...  validate a connector config
  patch connector NAME --set k=v --unset k  change keys of a connector's config
  delete connector NAME...|-e REGEX
  pause|resume|stop connector NAME...|-e REGEX|--all
  restart connector NAME...|-e REGEX|--all [--include-tasks] [--only-failed]
  restart task CONNECTOR TASK
  offsets get|reset CONNECTOR
  offsets patch CONNECTOR -f FILE | --partition JSON --offset JSON|null
  log-level LOGGER [LEVEL] [--scope worker|cluster]
  config set-context NAME --url URL [--user U --password P | --token T] [--ca-file F]
  config use-context NAME | get-contexts | current-context | delete-context NAME

Flags (every command):
  --url URL            the REST API (env CONNECTD_URL; default the current context, else http://localhost:8083)
  --context NAME       a context of the config file (env CONNECTD_CONTEXT)
  --config FILE        the config file (env CONNECTD_CTL_CONFIG; default ~/.config/connectd/ctl.json)
  --user, --password   basic auth (env CONNECTD_USER, CONNECTD_PASSWORD)
  --token              a bearer token (env CONNECTD_TOKEN)
  --ca-file FILE       the CA of an https API; --cert-file/--key-file a client certificate; --insecure
  -o table|json|yaml   output format (default table)
  --timeout DURATION   per request (default 30s)

Exit codes: 0 ok, 1 failed, 2 usage, 3 invalid config, 4 not found, 5 refused (401/403),
6 unreachable, 7 conflict (409).
`

func (e *env) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.url, "url", "", "")
	fs.StringVar(&e.context, "context", "", "")
	fs.StringVar(&e.configPath, "config", "", "")
	fs.StringVar(&e.user, "user", "", "")
	fs.StringVar(&e.password, "password", "", "")
	fs.StringVar(&e.token, "token", "", "")
	fs.StringVar(&e.caFile, "ca-file", "", "")
	fs.StringVar(&e.certFile, "cert-file", "", "")
	fs.StringVar(&e.keyFile, "key-file", "", "")
	fs.BoolVar(&e.insecure, "insecure", false, "")
	fs.StringVar(&e.output, "o", "table", "")
	fs.StringVar(&e.output, "output", "table", "")
	fs.DurationVar(&e.timeout, "timeout", 30*time.Second, "")
	fs.StringVar(&e.regexp, "e", "", "")
	fs.StringVar(&e.regexp, "regexp", "", "")
	fs.BoolVar(&e.all, "all", false, "")
	fs.BoolVar(&e.dryRun, "dry-run", false, "")
	fs.Var(&e.files, "f", "")
	fs.Var(&e.files, "file", "")
	fs.BoolVar(&e.includeTasks, "include-tasks", false, "")
	fs.BoolVar(&e.onlyFailed, "only-failed", false, "")
	fs.Var(&e.sets, "set", "")
	fs.Var(&e.unsets, "unset", "")
	fs.StringVar(&e.scope, "scope", "worker", "")
	fs.StringVar(&e.partition, "partition", "", "")
	fs.StringVar(&e.offset, "offset", "", "")
	return fs
}

// parse parses flags anywhere among the arguments and returns the
// positional ones.
func (e *env) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageErr("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	e.flagsSet = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { e.flagsSet[f.Name] = true })
	switch e.output {
	case "table", "json", "yaml":
	default:
		return nil, usageErr("-o %q: use table, json or yaml", e.output)
	}
	return pos, nil
}

func (e *env) run(args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.stdout, usageText)
		if len(args) == 0 {
			return &exitError{exitUsage, errors.New("no command")}
		}
		return nil
	}
	cmd := args[0]
	pos, err := e.parse(e.flagSet(cmd), args[1:])
	if err != nil {
		return err
	}
	if cmd == "config" {
		return e.configCmd(pos)
	}
	if err := e.connect(); err != nil {
		return err
	}
	noun := ""
	if len(pos) > 0 {
		noun = strings.TrimSuffix(pos[0], "s")
	}
	rest := func() []string {
		if len(pos) == 0 {
			return nil
		}
		return pos[1:]
	}
	switch cmd {
	case "info":
		return e.info()
	case "get":
		switch noun {
		case "connector":
			return e.getConnectors(rest())
		case "plugin":
			return e.getPlugins()
		case "logger":
			return e.getLoggers()
		case "offset":
			return e.offsetsGet(rest())
		}
		return usageErr("get: what? connectors, plugins, loggers or offsets")
	case "describe":
		switch noun {
		case "connector":
			return e.describeConnectors(rest())
		case "plugin":
			return e.describePlugin(rest())
		}
		return usageErr("describe: what? connector or plugin")
	case "apply":
		return e.apply(pos)
	case "validate":
		return e.validate(pos)
	case "patch":
		if noun != "connector" {
			return usageErr("patch: what? connector (log levels: connectd ctl log-level)")
		}
		return e.patch(rest())
	case "delete", "pause", "resume", "stop":
		if noun != "connector" {
			return usageErr("%s: what? connector", cmd)
		}
		return e.bulk(cmd, rest())
	case "restart":
		switch noun {
		case "connector":
			return e.bulk(cmd, rest())
		case "task":
			return e.restartTask(rest())
		}
		return usageErr("restart: what? connector or task")
	case "offsets":
		if len(pos) == 0 {
			return usageErr("offsets: get, patch or reset?")
		}
		switch pos[0] {
		case "get":
			return e.offsetsGet(pos[1:])
		case "patch":
			return e.offsetsPatch(pos[1:])
		case "reset":
			return e.offsetsReset(pos[1:])
		}
		return usageErr("offsets %s: use get, patch or reset", pos[0])
	case "log-level":
		return e.logLevel(pos)
	}
	fmt.Fprint(e.stderr, usageText)
	return usageErr("unknown command %q", cmd)
}

// connect resolves the context (flags over the environment over the
// config file) and makes the client.
func (e *env) connect() error {
	cfg, path, err := e.loadConfig()
	if err != nil {
		return err
	}
	e.cfg = cfg
	name := e.context
	if name == "" {
		name = e.getenv("CONNECTD_CONTEXT")
	}
	c := &Context{}
	named := name != ""
	if named {
		got, ok := cfg.Contexts[name]
		if !ok {
			return usageErr("no context %q in %s", name, path)
		}
		*c = *got
	} else if got, ok := cfg.Contexts[cfg.CurrentContext]; ok && e.url == "" && e.getenv("CONNECTD_URL") == "" {
		name, *c = cfg.CurrentContext, *got
	}
	// Flags override everything; the environment's fields apply when no
	// context was named.
	pick := func(dst *string, flagName, flagVal, envName string) {
		if e.flagsSet[flagName] {
			*dst = flagVal
		} else if v := e.getenv(envName); v != "" && !named {
			*dst = v
		}
	}
	pick(&c.URL, "url", e.url, "CONNECTD_URL")
	pick(&c.User, "user", e.user, "CONNECTD_USER")
	pick(&c.Password, "password", e.password, "CONNECTD_PASSWORD")
	pick(&c.Token, "token", e.token, "CONNECTD_TOKEN")
	pick(&c.CAFile, "ca-file", e.caFile, "CONNECTD_CA_FILE")
	if e.flagsSet["cert-file"] {
		c.CertFile, c.KeyFile = e.certFile, e.keyFile
	}
	if e.flagsSet["insecure"] {
		c.Insecure = e.insecure
	}
	if c.URL == "" {
		c.URL = "http://localhost:8083"
	}
	e.resolved, e.resolvedName = c, name
	tlsCfg := &tls.Config{InsecureSkipVerify: c.Insecure} //nolint:gosec // only when asked for
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return &exitError{exitUsage, fmt.Errorf("ca file: %w", err)}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return usageErr("ca file %s: no PEM certificate", c.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return &exitError{exitUsage, fmt.Errorf("client certificate: %w", err)}
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	e.client = &api.Client{BaseURL: c.URL, HTTP: &http.Client{Timeout: e.timeout, Transport: &http.Transport{TLSClientConfig: tlsCfg, Proxy: http.ProxyFromEnvironment}}}
	switch {
	case c.Token != "":
		e.client.Authorization = api.BearerAuth(c.Token)
	case c.User != "":
		e.client.Authorization = api.BasicAuth(c.User, c.Password)
	}
	return nil
}

// loadConfig reads the config file --config or the environment names.
func (e *env) loadConfig() (*Config, string, error) {
	path := e.configPath
	if path == "" {
		path = defaultConfigPath(e.getenv)
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, "", &exitError{exitUsage, err}
	}
	return cfg, path, nil
}

// print writes v as JSON or YAML, or calls table for people.
func (e *env) print(v any, table func(w *tabwriter.Writer)) error {
	switch e.output {
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", b)
		return err
	case "yaml":
		// Through JSON, so the field names are the API's.
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var generic any
		if err := json.Unmarshal(b, &generic); err != nil {
			return err
		}
		y, err := yaml.Marshal(generic)
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(y)
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// selectConnectors returns the connectors named, or those whose names
// match -e (the whole name), or with --all every connector; sorted.
func (e *env) selectConnectors(names []string) ([]string, error) {
	set := 0
	if len(names) > 0 {
		set++
	}
	if e.regexp != "" {
		set++
	}
	if e.all {
		set++
	}
	if set != 1 {
		return nil, usageErr("name connectors, or select them with -e REGEX or --all (one of the three)")
	}
	if len(names) > 0 {
		return names, nil
	}
	all, err := e.client.Connectors(e.ctx)
	if err != nil {
		return nil, err
	}
	sort.Strings(all)
	if e.all {
		return all, nil
	}
	re, err := regexp.Compile("^(?:" + e.regexp + ")$")
	if err != nil {
		return nil, usageErr("-e: %v", err)
	}
	var out []string
	for _, n := range all {
		if re.MatchString(n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, &exitError{exitNotFound, fmt.Errorf("no connector matches %q", e.regexp)}
	}
	return out, nil
}
