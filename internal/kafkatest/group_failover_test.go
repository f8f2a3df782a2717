package kafkatest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestDeadMemberCommitsSurvive: a group member commits an offset and
// vanishes without leaving, with a 6 s session; a new member of the group
// must start at that offset, whether it joins while the dead member is
// still in the group (the rebalance waits for its session to expire) or
// after it expired and the group went empty. This is the broker and client
// behaviour a sink task's failover relies on.
func TestDeadMemberCommitsSurvive(t *testing.T) {
	for _, afterExpiry := range []bool{false, true} {
		t.Run(fmt.Sprintf("afterExpiry=%v", afterExpiry), func(t *testing.T) {
			seeds := NewFake(t).ListenAddrs()
			cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic("in"))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			adm := kadm.NewClient(cl)
			ctx := context.Background()
			if _, err := adm.CreateTopic(ctx, 1, 1, nil, "in"); err != nil {
				t.Fatal(err)
			}
			for i := range 1000 {
				cl.Produce(ctx, &kgo.Record{Value: fmt.Append(nil, i)}, nil)
			}
			if err := cl.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			member := func(extra ...kgo.Opt) *kgo.Client {
				c, err := kgo.NewClient(append([]kgo.Opt{
					kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("in"),
					kgo.Balancers(kgo.CooperativeStickyBalancer()), kgo.DisableAutoCommit(),
					kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
					kgo.SessionTimeout(6 * time.Second), kgo.HeartbeatInterval(time.Second),
				}, extra...)...)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}

			dial := &VanishingDialer{}
			a := member(kgo.Dialer(dial.Dial))
			defer a.Close()
			for n := 0; n < 300; {
				pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				fs := a.PollRecords(pctx, 100)
				err := pctx.Err()
				cancel()
				if err != nil {
					t.Fatalf("the first member read %d records: %v", n, err)
				}
				n += len(fs.Records())
			}
			const committed = 300
			var commitErr error
			a.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{"in": {0: {Epoch: -1, Offset: committed}}},
				func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
					commitErr = err
					for _, tp := range resp.Topics {
						for _, p := range tp.Partitions {
							if commitErr == nil && p.ErrorCode != 0 {
								commitErr = fmt.Errorf("error code %d", p.ErrorCode)
							}
						}
					}
				})
			if commitErr != nil {
				t.Fatalf("commit: %v", commitErr)
			}
			dial.Vanish()
			if afterExpiry {
				deadline := time.Now().Add(30 * time.Second)
				for state := ""; state != "Empty"; {
					if time.Now().After(deadline) {
						t.Fatalf("the group is %s, not Empty, long after the dead member's session", state)
					}
					time.Sleep(100 * time.Millisecond)
					dg, err := adm.DescribeGroups(ctx, "g")
					if err == nil {
						state = dg["g"].State
					}
				}
			}

			b := member()
			defer b.Close()
			pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			var first *kgo.Record
			for first == nil && pctx.Err() == nil {
				if recs := b.PollRecords(pctx, 10).Records(); len(recs) > 0 {
					first = recs[0]
				}
			}
			if first == nil {
				t.Fatal("the new member read nothing")
			}
			if first.Offset != committed {
				t.Fatalf("the new member starts at offset %d, want the committed %d", first.Offset, committed)
			}
		})
	}
}
