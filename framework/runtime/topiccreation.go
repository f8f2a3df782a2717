package runtime

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/connectd/connectd/framework/connect"
)

// Topic creation for source connectors as Kafka Connect's KIP-158 defines
// it: a connector names groups of topics (topic.creation.groups), each
// with include and exclude regexes, a partition count, a replication
// factor and any topic configs (topic.creation.<group>.<key>); the default
// group (topic.creation.default.*) takes every topic no other group
// matches. A connector that sets no topic.creation.* key keeps connectd's
// older behaviour: a missing topic is created with the broker's defaults.
// The worker's topic.creation.enable=false turns both off.

// Keys of KIP-158.
const (
	KeyTopicCreationGroups = "topic.creation.groups"
	topicCreationPrefix    = "topic.creation."
	topicCreationDefault   = "default"

	tcInclude     = "include"
	tcExclude     = "exclude"
	tcReplication = "replication.factor"
	tcPartitions  = "partitions"

	GroupTopicCreation = "Topic Creation"
)

func topicCreationGroupsKey() connect.ConfigKey {
	return connect.ConfigKey{Name: KeyTopicCreationGroups, Type: connect.TypeList, Default: "", Importance: connect.Low, Group: GroupTopicCreation, Width: connect.WidthLong, DisplayName: "Topic Creation Groups",
		Doc: "Groups of configurations for topics created by source connectors. Each group sets topic.creation.<group>.include (regexes of the topics it takes), and may set .exclude, .replication.factor, .partitions and any topic config; topic.creation.default.replication.factor and .partitions apply to every other topic and are required once any topic.creation.* key is set."}
}

// topicGroup is one KIP-158 group of a connector.
type topicGroup struct {
	name              string
	include, exclude  *regexp.Regexp // nil: matches nothing (include: the default group, everything)
	partitions        int32          // -1: the broker's default
	replicationFactor int16          // -1: the broker's default
	configs           map[string]*string
}

// topicCreation is a connector's KIP-158 settings; nil when it sets none.
type topicCreation struct {
	groups []*topicGroup // in topic.creation.groups order, the default last
}

// matches reports whether the group takes topic: an include regex matches
// all of it and no exclude regex does.
func (g *topicGroup) matches(topic string) bool {
	if g.name == topicCreationDefault {
		return true
	}
	return g.include != nil && g.include.MatchString(topic) && (g.exclude == nil || !g.exclude.MatchString(topic))
}

// group returns the first group, in the order topic.creation.groups lists
// them, that takes topic, or the default group.
func (tc *topicCreation) group(topic string) *topicGroup {
	for _, g := range tc.groups {
		if g.matches(topic) {
			return g
		}
	}
	return tc.groups[len(tc.groups)-1]
}

// parseTopicCreation reads a source connector config's KIP-158 keys. It
// returns nil, nil when the config has none; otherwise the settings, or
// the messages of what is wrong, by key.
func parseTopicCreation(config map[string]string) (*topicCreation, map[string][]string) {
	set := false
	for k := range config {
		if strings.HasPrefix(k, topicCreationPrefix) && k != KeyTopicCreation {
			set = true
			break
		}
	}
	if !set {
		return nil, nil
	}
	errs := map[string][]string{}
	bad := func(key, msg string, args ...any) { errs[key] = append(errs[key], fmt.Sprintf(msg, args...)) }
	names := connect.SplitList(config[KeyTopicCreationGroups])
	seen := map[string]bool{}
	for _, n := range names {
		switch {
		case n == topicCreationDefault:
			bad(KeyTopicCreationGroups, "Invalid value %s for configuration %s: the default group is always defined and must not be listed", config[KeyTopicCreationGroups], KeyTopicCreationGroups)
		case seen[n]:
			bad(KeyTopicCreationGroups, "Invalid value %s for configuration %s: Duplicate alias provided.", config[KeyTopicCreationGroups], KeyTopicCreationGroups)
		}
		seen[n] = true
	}
	// Keys of groups that are not listed would be silently ignored.
	for k := range config {
		rest, ok := strings.CutPrefix(k, topicCreationPrefix)
		if !ok || k == KeyTopicCreation || k == KeyTopicCreationGroups {
			continue
		}
		name, _, _ := strings.Cut(rest, ".")
		if name != topicCreationDefault && !seen[name] {
			bad(k, "Topic creation group %s is not listed in %s; list it there or remove this key", name, KeyTopicCreationGroups)
		}
	}
	tc := &topicCreation{}
	def := parseTopicGroup(topicCreationDefault, config, nil, bad)
	for _, n := range names {
		if n == topicCreationDefault || n == "" {
			continue
		}
		tc.groups = append(tc.groups, parseTopicGroup(n, config, def, bad))
	}
	tc.groups = append(tc.groups, def)
	if len(errs) > 0 {
		return nil, errs
	}
	return tc, nil
}

// parseTopicGroup reads topic.creation.<name>.*; a group other than the
// default takes the default's partitions and replication factor when it
// sets none.
func parseTopicGroup(name string, config map[string]string, def *topicGroup, bad func(key, msg string, args ...any)) *topicGroup {
	prefix := topicCreationPrefix + name + "."
	g := &topicGroup{name: name, partitions: -1, replicationFactor: -1, configs: map[string]*string{}}
	if def != nil {
		g.partitions, g.replicationFactor = def.partitions, def.replicationFactor
		for k, v := range def.configs {
			g.configs[k] = v
		}
	}
	key := func(k string) string { return prefix + k }
	if v, ok := config[key(tcReplication)]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 16)
		if err != nil || n == 0 || n < -1 {
			bad(key(tcReplication), "Invalid value %s for configuration %s: Replication factor must be positive and not larger than the number of brokers in the Kafka cluster, or -1 to use the broker's default", v, key(tcReplication))
		}
		g.replicationFactor = int16(n)
	} else if def == nil {
		bad(key(tcReplication), "Missing required configuration %q which has no default value.", key(tcReplication))
	}
	if v, ok := config[key(tcPartitions)]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil || n == 0 || n < -1 {
			bad(key(tcPartitions), "Invalid value %s for configuration %s: Number of partitions must be positive, or -1 to use the broker's default", v, key(tcPartitions))
		}
		g.partitions = int32(n)
	} else if def == nil {
		bad(key(tcPartitions), "Missing required configuration %q which has no default value.", key(tcPartitions))
	}
	if def != nil {
		inc := connect.SplitList(config[key(tcInclude)])
		if len(inc) == 0 {
			bad(key(tcInclude), "Missing required configuration %q which has no default value: name the topics (regular expressions) group %s takes", key(tcInclude), name)
		}
		g.include = compileAny(key(tcInclude), inc, bad)
		g.exclude = compileAny(key(tcExclude), connect.SplitList(config[key(tcExclude)]), bad)
	}
	for _, k := range slices.Sorted(maps.Keys(config)) {
		tk, ok := strings.CutPrefix(k, prefix)
		if !ok || tk == tcInclude || tk == tcExclude || tk == tcReplication || tk == tcPartitions {
			continue
		}
		if msg := checkTopicConfig(tk, config[k]); msg != "" {
			bad(k, "Invalid value %s for configuration %s: %s", config[k], k, msg)
			continue
		}
		v := config[k]
		g.configs[tk] = &v
	}
	return g
}

// compileAny compiles regexes into one that matches a whole topic name
// when any of them does; nil for none.
func compileAny(key string, res []string, bad func(key, msg string, args ...any)) *regexp.Regexp {
	if len(res) == 0 {
		return nil
	}
	parts := make([]string, 0, len(res))
	for _, r := range res {
		if _, err := regexp.Compile(r); err != nil {
			bad(key, "Invalid value %s for configuration %s: %v", r, key, err)
			continue
		}
		parts = append(parts, "(?:"+r+")")
	}
	re, err := regexp.Compile("^(?:" + strings.Join(parts, "|") + ")$")
	if err != nil {
		return nil
	}
	return re
}

// topicConfigKinds are Kafka's topic-level configs and how their values
// read. A topic config outside it is refused at create, as a Kafka broker
// refuses it at topic creation (which would otherwise fail the task later).
var topicConfigKinds = map[string]string{
	"cleanup.policy": "policy", "compression.type": "compression", "message.timestamp.type": "timestamptype",
	"compression.gzip.level": "int", "compression.lz4.level": "int", "compression.zstd.level": "int",
	"delete.retention.ms": "long", "file.delete.delay.ms": "long", "flush.messages": "long", "flush.ms": "long",
	"follower.replication.throttled.replicas": "string", "leader.replication.throttled.replicas": "string",
	"index.interval.bytes": "int", "local.retention.bytes": "long", "local.retention.ms": "long",
	"max.compaction.lag.ms": "long", "max.message.bytes": "int", "message.downconversion.enable": "bool",
	"message.format.version": "string", "message.timestamp.after.max.ms": "long", "message.timestamp.before.max.ms": "long",
	"message.timestamp.difference.max.ms": "long", "min.cleanable.dirty.ratio": "ratio", "min.compaction.lag.ms": "long",
	"min.insync.replicas": "posint", "preallocate": "bool", "remote.storage.enable": "bool", "retention.bytes": "long",
	"retention.ms": "long", "segment.bytes": "posint", "segment.index.bytes": "posint", "segment.jitter.ms": "long",
	"segment.ms": "long", "unclean.leader.election.enable": "bool", "remote.log.copy.disable": "bool",
	"remote.log.delete.on.disable": "bool",
}

// checkTopicConfig returns what is wrong with a topic config value, or "".
func checkTopicConfig(name, v string) string {
	kind, ok := topicConfigKinds[name]
	if !ok {
		return fmt.Sprintf("%s is not a Kafka topic config", name)
	}
	v = strings.TrimSpace(v)
	switch kind {
	case "policy":
		ps := connect.SplitList(v)
		if len(ps) == 0 {
			return "cleanup.policy must be compact, delete or both"
		}
		for _, p := range ps {
			if p != "compact" && p != "delete" {
				return "cleanup.policy must be compact, delete or both"
			}
		}
	case "compression":
		if !slices.Contains([]string{"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}, v) {
			return "String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer"
		}
	case "timestamptype":
		if v != "CreateTime" && v != "LogAppendTime" {
			return "String must be one of: CreateTime, LogAppendTime"
		}
	case "int":
		if _, err := strconv.ParseInt(v, 10, 32); err != nil {
			return "Not a number of type INT"
		}
	case "posint":
		if n, err := strconv.ParseInt(v, 10, 32); err != nil || n < 1 {
			return "Value must be at least 1"
		}
	case "long":
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < -1 {
			return "Not a number of type LONG at least -1"
		}
	case "ratio":
		if f, err := strconv.ParseFloat(v, 64); err != nil || f < 0 || f > 1 {
			return "Value must be between 0 and 1"
		}
	case "bool":
		if v != "true" && v != "false" {
			return "Expected value to be either true or false"
		}
	}
	return ""
}
