package elasticsink

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// Versions the connector needs, as Confluent's connector checks them.
const (
	minESVersion         = "7.0.0"
	minDataStreamVersion = "7.9.0"
)

// Validate checks what single keys cannot: the rules that span several
// keys, then, when those pass, that every node of connection.url answers,
// accepts the credentials and runs a version the connector supports. Each
// message names the key to change.
func (c *connector) Validate(ctx context.Context, raw map[string]string) map[string][]string {
	if _, err := configDef().Parse(raw); err != nil {
		return nil // the ConfigDef's own checks name the keys
	}
	cfg, err := parseConfig(raw)
	if err != nil {
		var ce *connect.ConfigError
		if errors.As(err, &ce) {
			return ce.Errs
		}
		return map[string][]string{ConnectionURLKey: {err.Error()}}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	errs := map[string][]string{}
	add := func(key, format string, args ...any) { errs[key] = append(errs[key], fmt.Sprintf(format, args...)) }
	for _, u := range cfg.urls {
		one := *cfg
		one.urls = []string{u}
		cl, err := newClient(&one)
		if err != nil {
			add(ConnectionURLKey, "Invalid Elasticsearch client configuration: %v", err)
			continue
		}
		si, err := cl.info(ctx)
		if err == nil {
			// Some servers answer GET / without checking credentials
			// (ZincSearch does): ask for an index too, which they check.
			_, err = cl.exists(ctx, probeIndex(cfg, raw))
		}
		cl.close()
		var he *httpError
		switch {
		case errors.As(err, &he) && he.status == 401:
			if cfg.username == "" {
				add(ConnectionUsernameKey, "%s requires authentication: set '%s' and '%s'. %v", u, ConnectionUsernameKey, ConnectionPasswordKey, err)
			} else {
				msg := fmt.Sprintf("Could not authenticate the user. Check the '%s' and '%s'. Error message: %v", ConnectionUsernameKey, ConnectionPasswordKey, err)
				add(ConnectionUsernameKey, "%s", msg)
				add(ConnectionPasswordKey, "%s", msg)
			}
			continue
		case errors.As(err, &he) && he.status == 403:
			// Up, but the user may not read the cluster's info; as
			// Confluent's connector, that is fine (writes are what count).
			continue
		case err != nil:
			add(ConnectionURLKey, "Could not connect to Elasticsearch at %s. Error message: %v", u, err)
			if cfg.ssl {
				add(SecurityProtocolKey, "Could not connect to Elasticsearch at %s. Check your SSL settings. %v", u, err)
			}
			if cfg.proxyHost != "" {
				add(ProxyHostKey, "Could not connect to Elasticsearch at %s. Check your proxy settings. %v", u, err)
			}
			continue
		}
		version := si.Version.Number
		if si.openSearch() {
			continue // OpenSearch 1.x and 2.x speak the API this connector uses (see README)
		}
		if version == "" {
			add(ConnectionURLKey, "%s did not say its version: is it an Elasticsearch server?", u)
			continue
		}
		if compareVersions(version, minESVersion) < 0 {
			add(ConnectionURLKey, "Connector version %s is not compatible with Elasticsearch version %s at %s. Elasticsearch version must be at least %s.", Version, version, u, minESVersion)
		}
		if cfg.dataStream != "" && compareVersions(version, minDataStreamVersion) < 0 {
			msg := fmt.Sprintf("Elasticsearch version %s at %s is not compatible with data streams. Elasticsearch version must be at least %s.", version, u, minDataStreamVersion)
			for _, k := range []string{ConnectionURLKey, DataStreamTypeKey, DataStreamDatasetKey} {
				add(k, "%s", msg)
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// probeIndex names an index to ask about in Validate: the first topic's,
// or one that surely does not exist (a 404 answer is fine: it says the
// credentials passed).
func probeIndex(cfg *config, raw map[string]string) string {
	if topics := connect.SplitList(raw["topics"]); len(topics) > 0 {
		return indexName(cfg, topics[0])
	}
	return "connectd-validate-probe"
}

// compareVersions compares dotted versions numerically, ignoring suffixes
// such as -SNAPSHOT.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, _ := strconv.Atoi(strings.SplitN(as[i], "-", 2)[0])
		y, _ := strconv.Atoi(strings.SplitN(bs[i], "-", 2)[0])
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return len(as) - len(bs)
}
