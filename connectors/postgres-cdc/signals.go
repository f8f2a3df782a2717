package postgrescdc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaSignals is Debezium's Kafka signal channel: a consumer of partition
// 0 of signal.kafka.topic. A record whose key is topic.prefix carries a
// signal as JSON {"id", "type", "data"}; its id defaults to the record's
// offset. By default reading starts at the end of the topic when the task
// starts, as Debezium's channel does; with
// signal.kafka.consumer.offset.commit.enabled it starts after the last
// signal the group committed (or at the topic's start) and commits each
// signal once it is handed on.
type kafkaSignals struct {
	out    chan signal
	cl     *kgo.Client
	adm    *kadm.Client
	cfg    *config
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startKafkaSignals connects the channel and starts its goroutine; stop
// ends it.
func startKafkaSignals(cfg *config, log *slog.Logger) (*kafkaSignals, error) {
	k := &kafkaSignals{out: make(chan signal, 16), cfg: cfg, log: log}
	opts := []kgo.Opt{kgo.SeedBrokers(cfg.signalServers...), kgo.ClientID("connectd-postgres-cdc-signals"),
		kgo.MetadataMinAge(time.Second), kgo.FetchMaxWait(time.Second)}
	adm, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka signal channel: %w", err)
	}
	k.adm = kadm.NewClient(adm)
	ctx, cancel := context.WithCancel(context.Background())
	k.cancel = cancel
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		defer k.adm.Close()
		k.run(ctx, opts)
	}()
	return k, nil
}

func (k *kafkaSignals) stop() {
	k.cancel()
	k.wg.Wait()
}

// start returns where to read from, retrying until the cluster answers.
func (k *kafkaSignals) start(ctx context.Context) (kgo.Offset, bool) {
	var logged bool
	warn := func(err error) {
		if !logged && ctx.Err() == nil {
			k.log.Warn("postgres-cdc: Kafka signal channel cannot reach its topic yet; retrying", "topic", k.cfg.signalTopic, "error", err)
			logged = true
		}
	}
	for ctx.Err() == nil {
		if !k.cfg.signalCommit {
			ends, err := k.adm.ListEndOffsets(ctx, k.cfg.signalTopic)
			if err == nil {
				if o, ok := ends.Lookup(k.cfg.signalTopic, 0); ok && o.Err == nil {
					k.log.Info("postgres-cdc: Kafka signal channel reads from the end", "topic", k.cfg.signalTopic, "offset", o.Offset)
					return kgo.NewOffset().At(o.Offset), true
				} else if ok {
					err = o.Err
				} else {
					err = fmt.Errorf("no partition 0")
				}
			}
			warn(err)
		} else {
			res, err := k.adm.FetchOffsets(ctx, k.cfg.signalGroup)
			if errors.Is(err, kerr.GroupIDNotFound) {
				res, err = nil, nil // nothing committed yet
			}
			if err == nil {
				at := kgo.NewOffset().AtStart()
				if o, ok := res.Lookup(k.cfg.signalTopic, 0); ok && o.Err == nil && o.At >= 0 {
					at = kgo.NewOffset().At(o.At)
				}
				k.log.Info("postgres-cdc: Kafka signal channel reads from the group's offset", "topic", k.cfg.signalTopic, "group", k.cfg.signalGroup)
				return at, true
			}
			warn(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return kgo.Offset{}, false
}

func (k *kafkaSignals) run(ctx context.Context, opts []kgo.Opt) {
	at, ok := k.start(ctx)
	if !ok {
		return
	}
	cl, err := kgo.NewClient(append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{k.cfg.signalTopic: {0: at}}))...)
	if err != nil {
		k.log.Error("postgres-cdc: Kafka signal channel", "error", err)
		return
	}
	defer cl.Close()
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachError(func(topic string, p int32, err error) {
			if ctx.Err() == nil {
				k.log.Warn("postgres-cdc: Kafka signal channel fetch", "topic", topic, "error", err)
			}
		})
		var err error
		fs.EachRecord(func(r *kgo.Record) {
			if err != nil {
				return
			}
			sig, ok := k.parse(r)
			if ok {
				select {
				case k.out <- sig:
				case <-ctx.Done():
					err = ctx.Err()
					return
				}
			}
			if k.cfg.signalCommit {
				off := kadm.Offsets{}
				off.Add(kadm.Offset{Topic: r.Topic, Partition: r.Partition, At: r.Offset + 1, LeaderEpoch: -1})
				if _, cerr := k.adm.CommitOffsets(ctx, k.cfg.signalGroup, off); cerr != nil && ctx.Err() == nil {
					k.log.Warn("postgres-cdc: Kafka signal channel: commit the signal's offset", "offset", r.Offset, "error", cerr)
				}
			}
		})
	}
}

// parse reads one signal record: nothing when its key is not topic.prefix
// or its value is not a signal.
func (k *kafkaSignals) parse(r *kgo.Record) (signal, bool) {
	if string(r.Key) != k.cfg.prefix {
		k.log.Info("postgres-cdc: Kafka signal ignored: its key is not the connector's topic.prefix", "key", string(r.Key), "offset", r.Offset)
		return signal{}, false
	}
	if len(r.Value) == 0 {
		return signal{}, false
	}
	var v struct {
		ID   string          `json:"id"`
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(r.Value, &v); err != nil || v.Type == "" {
		k.log.Warn("postgres-cdc: Kafka signal ignored: not JSON with a type", "offset", r.Offset, "value", string(r.Value))
		return signal{}, false
	}
	if v.ID == "" {
		v.ID = strconv.FormatInt(r.Offset, 10)
	}
	data := string(v.Data)
	if data == "" || data == "null" {
		data = "{}"
	}
	return signal{id: v.ID, typ: v.Type, data: data, channel: ChannelKafka}, true
}
