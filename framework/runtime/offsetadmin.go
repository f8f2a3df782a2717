package runtime

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/offsets"
)

// What Kafka Connect's offsets endpoints (KIP-875) do, for both herders:
// source offsets live in the worker's offset store, sink offsets are the
// committed offsets of the connector's consumer group. Herders check that
// the connector exists and, for a change, that it is STOPPED.
//
// connectd's connectors keep no offsets of their own outside the
// framework (Kafka Connect's SourceConnector.alterOffsets hook has no
// counterpart in the SDK), so a change answers Kafka Connect's definite
// message rather than its "framework-managed offsets" one.

// ConnectorOffsets returns the committed offsets of the connector name,
// which runs plugin entry.
func (w *Worker) ConnectorOffsets(ctx context.Context, name string, entry *PluginEntry, config map[string]string) (herder.ConnectorOffsets, error) {
	if ConnectorType(entry) == herder.Sink {
		return w.sinkOffsets(ctx, name)
	}
	stored, err := w.loadSourceOffsets(ctx, name, config)
	if err != nil {
		return herder.ConnectorOffsets{}, fmt.Errorf("read offsets of source connector %s: %w", name, err)
	}
	out := herder.ConnectorOffsets{Offsets: make([]herder.ConnectorOffset, 0, len(stored))}
	for _, e := range stored {
		p := json.RawMessage(e.Partition)
		if len(p) == 0 {
			p = json.RawMessage("null")
		}
		out.Offsets = append(out.Offsets, herder.ConnectorOffset{Partition: p, Offset: json.RawMessage(e.Offset)})
	}
	return out, nil
}

// loadSourceOffsets reads a source connector's offsets as its tasks do:
// the worker's, overridden by its own offsets topic's when it has one.
func (w *Worker) loadSourceOffsets(ctx context.Context, name string, config map[string]string) ([]offsets.Entry, error) {
	stores, err := w.sourceOffsetStores(ctx, config)
	if err != nil {
		return nil, err
	}
	return stores.load(ctx, name)
}

// commitSourceOffsets writes entries where a source connector's tasks
// read them: its own offsets topic when it has one (and a copy to the
// worker's), else the worker's.
func (w *Worker) commitSourceOffsets(ctx context.Context, name string, config map[string]string, entries []offsets.Entry) error {
	stores, err := w.sourceOffsetStores(ctx, config)
	if err != nil {
		return err
	}
	return stores.commit(ctx, name, entries)
}

// AlterConnectorOffsets writes offsets for the connector name (a nil
// Offset removes a partition's). The caller has checked that the
// connector is stopped.
func (w *Worker) AlterConnectorOffsets(ctx context.Context, name string, entry *PluginEntry, config map[string]string, os []herder.ConnectorOffset) (herder.Message, error) {
	if ConnectorType(entry) == herder.Sink {
		parsed, err := parseSinkOffsets(os)
		if err != nil {
			return herder.Message{}, err
		}
		if err := w.alterSinkOffsets(ctx, name, parsed); err != nil {
			return herder.Message{}, err
		}
		return herder.Message{Message: herder.MsgOffsetsAltered}, nil
	}
	entries, err := sourceEntries(os)
	if err != nil {
		return herder.Message{}, err
	}
	if err := w.commitSourceOffsets(ctx, name, config, entries); err != nil {
		return herder.Message{}, fmt.Errorf("Failed to modify offsets for source connector %s: %w", name, err)
	}
	w.Logger.Info("source offsets altered through the REST API", "connector", name, "partitions", len(entries))
	return herder.Message{Message: herder.MsgOffsetsAltered}, nil
}

// ResetConnectorOffsets removes every offset of the connector name. The
// caller has checked that the connector is stopped.
func (w *Worker) ResetConnectorOffsets(ctx context.Context, name string, entry *PluginEntry, config map[string]string) (herder.Message, error) {
	if ConnectorType(entry) == herder.Sink {
		if err := w.resetSinkOffsets(ctx, name); err != nil {
			return herder.Message{}, err
		}
		return herder.Message{Message: herder.MsgOffsetsReset}, nil
	}
	stored, err := w.loadSourceOffsets(ctx, name, config)
	if err != nil {
		return herder.Message{}, fmt.Errorf("Failed to modify offsets for source connector %s: %w", name, err)
	}
	if len(stored) > 0 {
		tombs := make([]offsets.Entry, len(stored))
		for i, e := range stored {
			tombs[i] = offsets.Entry{Partition: e.Partition}
		}
		if err := w.commitSourceOffsets(ctx, name, config, tombs); err != nil {
			return herder.Message{}, fmt.Errorf("Failed to modify offsets for source connector %s: %w", name, err)
		}
	}
	w.Logger.Info("source offsets reset through the REST API", "connector", name, "partitions", len(stored))
	return herder.Message{Message: herder.MsgOffsetsReset}, nil
}

// sourceEntries checks offsets as Kafka Connect does (a partition is
// required; values are primitives) and canonicalises them so a partition
// names the entry the tasks wrote.
func sourceEntries(os []herder.ConnectorOffset) ([]offsets.Entry, error) {
	out := make([]offsets.Entry, 0, len(os))
	for _, o := range os {
		if len(o.Partition) == 0 || string(o.Partition) == "null" {
			return nil, herder.BadRequest("The partition for a source connector offset cannot be null or missing")
		}
		var e offsets.Entry
		for _, f := range []struct {
			raw json.RawMessage
			dst *[]byte
		}{{o.Partition, &e.Partition}, {o.Offset, &e.Offset}} {
			if len(f.raw) == 0 || string(f.raw) == "null" {
				continue
			}
			if err := checkPrimitives(f.raw); err != nil {
				return nil, err
			}
			c, err := offsets.Canonical(f.raw)
			if err != nil {
				return nil, herder.BadRequest("Malformed partition or offset %s: %v", f.raw, err)
			}
			*f.dst = c
		}
		out = append(out, e)
	}
	return out, nil
}

// checkPrimitives refuses nested objects and arrays in a partition or
// offset: Kafka Connect allows only primitive values there.
func checkPrimitives(raw json.RawMessage) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return herder.BadRequest("Malformed partition or offset %s: %v", raw, err)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := bytes.TrimSpace(m[k])
		if len(v) > 0 && (v[0] == '{' || v[0] == '[') {
			kind := "STRUCT"
			if v[0] == '[' {
				kind = "ARRAY"
			}
			return herder.BadRequest("Offsets may only contain primitive types as values, but field %s contains %s", k, kind)
		}
	}
	return nil
}

// sinkOffset is one parsed sink partition and its offset; At < 0 removes
// the committed offset.
type sinkOffset struct {
	Topic     string
	Partition int32
	At        int64
}

// parseSinkOffsets reads {"kafka_topic","kafka_partition"} partitions and
// {"kafka_offset"} offsets, with Kafka Connect's messages. Numbers may be
// given as JSON numbers or strings, as Kafka Connect accepts both.
func parseSinkOffsets(os []herder.ConnectorOffset) ([]sinkOffset, error) {
	out := make([]sinkOffset, 0, len(os))
	for _, o := range os {
		if len(o.Partition) == 0 || string(o.Partition) == "null" {
			return nil, herder.BadRequest("The partition for a sink connector offset cannot be null or missing")
		}
		var p map[string]json.RawMessage
		if err := json.Unmarshal(o.Partition, &p); err != nil {
			return nil, herder.BadRequest("Malformed partition %s: %v", o.Partition, err)
		}
		topicRaw, hasTopic := p[herder.SinkTopicKey]
		partRaw, hasPart := p[herder.SinkPartitionKey]
		if !hasTopic || !hasPart {
			return nil, herder.BadRequest("The partition for a sink connector offset must contain the keys '%s' and '%s'", herder.SinkTopicKey, herder.SinkPartitionKey)
		}
		if isNull(topicRaw) {
			return nil, herder.BadRequest("Kafka topic names must be valid strings and may not be null")
		}
		if isNull(partRaw) {
			return nil, herder.BadRequest("Kafka partitions must be valid numbers and may not be null")
		}
		so := sinkOffset{Topic: scalarText(topicRaw), At: -1}
		n, err := strconv.ParseInt(scalarText(partRaw), 10, 32)
		if err != nil {
			return nil, herder.BadRequest("Failed to parse the following Kafka partition value in the provided offsets: '%s'. Partition values for sink connectors need to be integers.", scalarText(partRaw))
		}
		so.Partition = int32(n)
		if len(o.Offset) > 0 && !isNull(o.Offset) {
			var off map[string]json.RawMessage
			if err := json.Unmarshal(o.Offset, &off); err != nil {
				return nil, herder.BadRequest("Malformed offset %s: %v", o.Offset, err)
			}
			raw, ok := off[herder.SinkOffsetKey]
			if !ok {
				return nil, herder.BadRequest("The offset for a sink connector should either be null or contain the key '%s'", herder.SinkOffsetKey)
			}
			at, err := strconv.ParseInt(scalarText(raw), 10, 64)
			if err != nil || at < 0 {
				return nil, herder.BadRequest("Failed to parse the following Kafka offset value in the provided offsets: '%s'. Offset values for sink connectors need to be integers.", scalarText(raw))
			}
			so.At = at
		}
		out = append(out, so)
	}
	return out, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// scalarText is a JSON scalar as Java's String.valueOf shows it: a
// string's contents, anything else its JSON text.
func scalarText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

// adminTimeout bounds each admin call on a sink's consumer group.
const adminTimeout = 30 * time.Second

// admin returns an admin client for a connector's offsets requests, with
// the worker's admin.* settings (Kafka Connect alters a sink connector's
// offsets with an admin client).
func (w *Worker) admin(name string) (*kadm.Client, func(), error) {
	opts, sec, err := w.connectorAdminOpts(nil, kgo.ClientID(w.Config.ClientID+"-offsets-"+name))
	if err != nil {
		return nil, nil, fmt.Errorf("kafka admin client for the offsets of connector %s: %w", name, err)
	}
	opts = append(opts, w.Config.ConsumerOpts...)
	cl, err := kgo.NewClient(opts...)
	if err == nil {
		if err = sec.check(context.Background(), cl, "admin client"); err != nil {
			cl.Close()
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("kafka admin client for the offsets of connector %s: %w", name, err)
	}
	return kadm.NewClient(cl), cl.Close, nil
}

func (w *Worker) sinkOffsets(ctx context.Context, name string) (herder.ConnectorOffsets, error) {
	adm, done, err := w.admin(name)
	if err != nil {
		return herder.ConnectorOffsets{}, err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	resp, err := adm.FetchOffsets(ctx, SinkGroup(name))
	if errors.Is(err, kerr.GroupIDNotFound) {
		return herder.ConnectorOffsets{Offsets: []herder.ConnectorOffset{}}, nil
	}
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return herder.ConnectorOffsets{}, fmt.Errorf("Failed to retrieve consumer group offsets for sink connector %s: %w", name, err)
	}
	var list []kadm.OffsetResponse
	resp.Each(func(o kadm.OffsetResponse) {
		if o.At >= 0 {
			list = append(list, o)
		}
	})
	slices.SortFunc(list, func(a, b kadm.OffsetResponse) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	out := herder.ConnectorOffsets{Offsets: make([]herder.ConnectorOffset, 0, len(list))}
	for _, o := range list {
		p, _ := json.Marshal(map[string]any{herder.SinkTopicKey: o.Topic, herder.SinkPartitionKey: o.Partition})
		v, _ := json.Marshal(map[string]any{herder.SinkOffsetKey: o.At})
		out.Offsets = append(out.Offsets, herder.ConnectorOffset{Partition: p, Offset: v})
	}
	return out, nil
}

// msgSinkBusy is Kafka Connect's message when the group still has members.
func msgSinkBusy(op, name string) string {
	return "Failed to " + op + " consumer group offsets for connector " + name + " either because its tasks " +
		"haven't stopped completely yet or the connector was resumed before the request to " + op + " its offsets could be successfully " +
		"completed. If the connector is in a stopped state, this operation can be safely retried. If it doesn't eventually succeed, the " +
		"Connect cluster may need to be restarted to get rid of the zombie sink tasks."
}

// alterSinkOffsets commits the given offsets for the connector's group and
// deletes the ones to remove. Kafka refuses both while the group has
// members, which is what keeps a sink task still running from racing it.
func (w *Worker) alterSinkOffsets(ctx context.Context, name string, os []sinkOffset) error {
	adm, done, err := w.admin(name)
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	group := SinkGroup(name)
	commit := kadm.Offsets{}
	remove := kadm.TopicsSet{}
	removed := 0
	for _, o := range os {
		if o.At < 0 {
			remove.Add(o.Topic, o.Partition)
			removed++
			continue
		}
		commit.Add(kadm.Offset{Topic: o.Topic, Partition: o.Partition, At: o.At, LeaderEpoch: -1})
	}
	fail := func(err error) error {
		if errors.Is(err, kerr.UnknownMemberID) || errors.Is(err, kerr.GroupSubscribedToTopic) ||
			errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.RebalanceInProgress) {
			return fmt.Errorf("%s: %w", msgSinkBusy("alter", name), err)
		}
		return fmt.Errorf("Failed to alter consumer group offsets for connector %s: %w", name, err)
	}
	if len(commit) > 0 {
		resp, err := adm.CommitOffsets(ctx, group, commit)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return fail(err)
		}
	}
	if len(remove) > 0 {
		resp, err := adm.DeleteOffsets(ctx, group, remove)
		if errors.Is(err, kerr.GroupIDNotFound) {
			err = nil // nothing committed, nothing to remove
		} else if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return fail(err)
		}
	}
	w.Logger.Info("sink offsets altered through the REST API", "connector", name, "committed", len(os)-removed, "removed", removed)
	return nil
}

// resetSinkOffsets deletes the connector's consumer group, as Kafka
// Connect does; a group that does not exist is already reset.
func (w *Worker) resetSinkOffsets(ctx context.Context, name string) error {
	adm, done, err := w.admin(name)
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	resp, err := adm.DeleteGroup(ctx, SinkGroup(name))
	if err == nil {
		err = resp.Err
	}
	switch {
	case err == nil, errors.Is(err, kerr.GroupIDNotFound):
		w.Logger.Info("sink offsets reset through the REST API", "connector", name)
		return nil
	case errors.Is(err, kerr.NonEmptyGroup):
		return fmt.Errorf("%s: %w", msgSinkBusy("reset", name), err)
	}
	return fmt.Errorf("Failed to reset consumer group offsets for sink connector %s: %w", name, err)
}
