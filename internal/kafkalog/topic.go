package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// ensureTopic creates the topic, compacted, when it is missing, and checks
// that an existing one is compacted only: with cleanup.policy=delete (or
// compact,delete) the newest record of a key would eventually be deleted,
// and what the log keeps with it. Like Kafka Connect, a topic the worker
// may not create or describe is assumed to be set up by its operators.
func (l *Log) ensureTopic(ctx context.Context, o Options) error {
	configs := make(map[string]*string, len(o.TopicConfigs)+1)
	for k, v := range o.TopicConfigs {
		configs[k] = &v
	}
	compact := "compact"
	configs["cleanup.policy"] = &compact
	for try := 0; ; try++ {
		_, err := l.adm.CreateTopic(ctx, o.Partitions, o.ReplicationFactor, configs, o.Topic)
		switch {
		case err == nil:
			l.logger.Info("kafkalog: created the topic", "partitions", o.Partitions, "replication_factor", o.ReplicationFactor)
			return nil
		case errors.Is(err, kerr.TopicAlreadyExists):
			return l.checkCompacted(ctx, o)
		case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed):
			l.logger.Warn("kafkalog: not allowed to create the topic; assuming it exists", "err", err)
			return l.checkCompacted(ctx, o)
		case retriable(err) && ctx.Err() == nil:
			l.logger.Warn("kafkalog: creating the topic failed; retrying", "err", err)
			if werr := pause(ctx, try); werr != nil {
				return fmt.Errorf("kafkalog: create topic %s: %w (last attempt: %w)", o.Topic, werr, err)
			}
		default:
			return fmt.Errorf("kafkalog: create topic %s for %s: %w", o.Topic, purpose(o), err)
		}
	}
}

// checkCompacted refuses a topic whose cleanup.policy is not exactly
// compact, as Kafka Connect does.
func (l *Log) checkCompacted(ctx context.Context, o Options) error {
	configs, err := l.adm.DescribeTopicConfigs(ctx, o.Topic)
	if err != nil {
		l.logger.Info("kafkalog: cannot check the topic's cleanup.policy", "err", err)
		return nil
	}
	rc, err := configs.On(o.Topic, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		l.logger.Info("kafkalog: cannot check the topic's cleanup.policy", "err", err)
		return nil
	}
	for _, c := range rc.Configs {
		if c.Key != "cleanup.policy" || c.Value == nil {
			continue
		}
		policies := map[string]bool{}
		for _, p := range strings.Split(*c.Value, ",") {
			if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
				policies[p] = true
			}
		}
		if len(policies) == 0 || (len(policies) == 1 && policies["compact"]) {
			return nil
		}
		found := make([]string, 0, len(policies))
		for p := range policies {
			found = append(found, p)
		}
		sort.Strings(found)
		return fmt.Errorf("kafkalog: topic %s, named by %s, has cleanup.policy=%s, but it must be compact only: "+
			"otherwise Kafka eventually deletes %s that are still needed, and the cluster cannot restart correctly. "+
			"Point %s at a topic with cleanup.policy=compact, or change the topic's cleanup.policy to compact",
			o.Topic, settingName(o), strings.Join(found, ","), purpose(o), settingName(o))
	}
	return nil
}

// partitionCount waits until the topic's metadata names its partitions
// (a topic just created may take a moment to show them).
func (l *Log) partitionCount(ctx context.Context) (int32, error) {
	for try := 0; ; try++ {
		details, err := l.adm.ListTopics(ctx, l.topic)
		if err == nil {
			td, ok := details[l.topic]
			switch {
			case !ok:
				err = kerr.UnknownTopicOrPartition
			case td.Err != nil:
				err = td.Err
			case len(td.Partitions) == 0:
				err = errors.New("no partitions")
			default:
				return int32(len(td.Partitions)), nil
			}
		}
		if !retriable(err) {
			return 0, fmt.Errorf("kafkalog: look up the partitions of %s: %w", l.topic, err)
		}
		if werr := pause(ctx, try); werr != nil {
			return 0, fmt.Errorf("kafkalog: look up the partitions of %s: %w (last attempt: %w); "+
				"check that the brokers are reachable and the topic exists", l.topic, werr, err)
		}
	}
}

// endOffsets returns, for each partition with records, the offset the
// reader must reach to have read everything in it now. Failures that may
// pass (a broker restarting, a leader moving) are retried until ctx ends.
func (l *Log) endOffsets(ctx context.Context) (map[int32]int64, error) {
	for try := 0; ; try++ {
		want, err := l.sharedEnds(ctx)
		if err == nil {
			return want, nil
		}
		if !retriable(err) {
			return nil, fmt.Errorf("kafkalog: list the end offsets of %s: %w", l.topic, err)
		}
		if werr := pause(ctx, try); werr != nil {
			return nil, fmt.Errorf("kafkalog: list the end offsets of %s: %w (last attempt: %w)", l.topic, werr, err)
		}
	}
}

// endsLookup is one look at the end offsets, shared by every ReadToEnd
// that asked for one before it started.
type endsLookup struct {
	done chan struct{}
	want map[int32]int64 // read only once done
	err  error
}

// endsAttemptTimeout bounds one shared look; a caller whose context allows
// more tries again.
const endsAttemptTimeout = 30 * time.Second

// sharedEnds returns the end offsets from a look that started after the
// call, shared with every other caller waiting for one: as Kafka
// Connect's KafkaBasedLog serves all pending readToEnd calls with one
// endOffsets request. A thousand tasks starting at once ask for their
// offsets with a few requests, not two thousand. One look runs at a time;
// callers that come while it runs wait for the next, which starts when it
// ends.
func (l *Log) sharedEnds(ctx context.Context) (map[int32]int64, error) {
	l.endsMu.Lock()
	a := l.endsNext
	if a == nil {
		a = &endsLookup{done: make(chan struct{})}
		l.endsNext = a
		if !l.endsRunning {
			l.endsRunning = true
			go l.runEnds()
		}
	}
	l.endsMu.Unlock()
	select {
	case <-a.done:
		return a.want, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// runEnds runs the pending looks one after another until none is left.
func (l *Log) runEnds() {
	for {
		l.endsMu.Lock()
		a := l.endsNext
		l.endsNext = nil
		if a == nil {
			l.endsRunning = false
			l.endsMu.Unlock()
			return
		}
		l.endsMu.Unlock()
		ctx, cancel := context.WithTimeout(l.ctx, endsAttemptTimeout)
		a.want, a.err = l.listEnds(ctx)
		if a.err != nil && ctx.Err() != nil && l.ctx.Err() == nil {
			// Retriable for the callers: not their deadline.
			a.err = fmt.Errorf("the brokers did not answer within %v: %w", endsAttemptTimeout, kerr.RequestTimedOut)
		}
		cancel()
		close(a.done)
	}
}

func (l *Log) listEnds(ctx context.Context) (map[int32]int64, error) {
	starts, err := l.adm.ListStartOffsets(ctx, l.topic)
	if err != nil {
		return nil, err
	}
	list := l.adm.ListEndOffsets
	if l.readCommitted {
		list = l.adm.ListCommittedOffsets // the last stable offset
	}
	ends, err := list(ctx, l.topic)
	if err != nil {
		return nil, err
	}
	want := make(map[int32]int64, l.nparts)
	for p := range l.nparts {
		end, ok := ends.Lookup(l.topic, p)
		if !ok {
			return nil, fmt.Errorf("partition %d: %w", p, kerr.UnknownTopicOrPartition)
		}
		if end.Err != nil {
			return nil, fmt.Errorf("partition %d: %w", p, end.Err)
		}
		start, ok := starts.Lookup(l.topic, p)
		if !ok {
			return nil, fmt.Errorf("partition %d: %w", p, kerr.UnknownTopicOrPartition)
		}
		if start.Err != nil {
			return nil, fmt.Errorf("partition %d: %w", p, start.Err)
		}
		if end.Offset > start.Offset {
			want[p] = end.Offset
		}
	}
	return want, nil
}

// retriable reports whether err may pass by itself: Kafka's retriable
// errors and anything that is not a Kafka error code (connections
// failing while a broker restarts). Kafka's other errors (authorization,
// invalid requests) need someone to act.
func retriable(err error) bool {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Retriable
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// pause waits before the next attempt: 50 ms doubling to 1 s.
func pause(ctx context.Context, try int) error {
	d := 50 * time.Millisecond << min(try, 5)
	d = min(d, time.Second)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func purpose(o Options) string {
	if o.Purpose != "" {
		return o.Purpose
	}
	return "records"
}
