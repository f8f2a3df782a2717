package ftp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"

	"github.com/connectd/connectd/framework/connect"
)

// Name is the plugin name the worker lists the connector under.
const Name = "ftp-source"

// Version is the connector's version, reported by the REST API's plugin list.
const Version = "0.1.0"

// Aliases are other names connector.class accepts: a Java-style class
// name, as the other built-in connectors have. No Kafka Connect FTP
// connector's configuration works here unchanged (Camel's, kafka-connect-fs'
// and FilePulse's keys differ), so none of their class names is taken.
var Aliases = []string{"io.connectd.connectors.FtpSourceConnector"}

// NewSource returns an unstarted FTP/FTPS/SFTP source connector.
func NewSource() connect.SourceConnector { return &connector{} }

type connector struct {
	config map[string]string
}

var _ connect.Validator = (*connector)(nil)

func (c *connector) Config() *connect.ConfigDef { return configDef() }

func (c *connector) Start(_ context.Context, raw map[string]string) error {
	if _, err := parseConfig(raw); err != nil {
		return err
	}
	c.config = maps.Clone(raw)
	return nil
}

// TaskConfigs returns tasks.max tasks; each reads the files whose path
// hashes to it, so every file has exactly one reader.
func (c *connector) TaskConfigs(_ context.Context, maxTasks int) ([]map[string]string, error) {
	if c.config == nil {
		return nil, errors.New("ftp: TaskConfigs called before Start")
	}
	n := max(maxTasks, 1)
	out := make([]map[string]string, n)
	for i := range out {
		cfg := maps.Clone(c.config)
		cfg[taskIndexKey], cfg[taskCountKey] = strconv.Itoa(i), strconv.Itoa(n)
		out[i] = cfg
	}
	return out, nil
}

func (c *connector) Stop(context.Context) error { return nil }

func (c *connector) NewTask() connect.SourceTask { return &sourceTask{} }

// Validate logs in and lists every input directory, naming the key that
// is wrong: the host or port when the server cannot be reached, the user
// or password when the login is refused, the host key settings when the
// server's key does not check out, input.path for a directory it cannot
// list, finished.path or error.path for a folder it cannot make.
func (c *connector) Validate(ctx context.Context, raw map[string]string) map[string][]string {
	if _, err := configDef().Parse(raw); err != nil {
		return nil // the ConfigDef's own checks name the keys
	}
	cfg, err := parseConfig(raw)
	if err != nil { // a combination of keys that does not go together
		var ce *connect.ConfigError
		if errors.As(err, &ce) {
			return ce.Errs
		}
		return map[string][]string{InputPathKey: {err.Error()}}
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.connectTimeout+cfg.timeout)
	defer cancel()
	errs := map[string][]string{}
	add := func(key, format string, args ...any) { errs[key] = append(errs[key], fmt.Sprintf(format, args...)) }
	log := slog.Default().With("connector", raw["name"], "plugin", Name)
	rem, err := dial(ctx, cfg, log)
	if err != nil {
		add(dialErrorKey(cfg, err), "Cannot log in: %v", err)
		return errs
	}
	defer rem.close()
	stop := context.AfterFunc(ctx, rem.interrupt)
	defer stop()
	for _, dir := range cfg.inputs {
		n := 0
		if err := rem.list(ctx, dir, func(entry) error { n++; return nil }); err != nil {
			add(InputPathKey, "Cannot list %s: %v", dir, err)
		}
	}
	for _, d := range []struct{ key, path string }{{FinishedPathKey, cfg.finishedPath}, {ErrorPathKey, cfg.errorPath}} {
		if d.path == "" || (d.key == FinishedPathKey && cfg.cleanup != CleanupMove) {
			continue
		}
		if err := rem.mkdirAll(ctx, d.path); err != nil {
			add(d.key, "Cannot make the directory %s: %v", d.path, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// dialErrorKey names the key a failed login points at.
func dialErrorKey(cfg *config, err error) string {
	var pe *permanentError
	var ke *keyError
	switch {
	case errors.As(err, &ke):
		return ke.key
	case errors.As(err, &pe):
		if cfg.protocol == ProtoSFTP && cfg.keyPath != "" && cfg.password == "" {
			return PrivateKeyPathKey
		}
		return PasswordKey
	}
	return HostKey
}

// keyError is a connection failure caused by one configuration key.
type keyError struct {
	key string
	err error
}

func (e *keyError) Error() string { return e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }
