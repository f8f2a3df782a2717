package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/runtime"
)

// runConsume prints records of a topic, for looking at what connectors
// wrote without other Kafka tooling.
func runConsume(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("consume", flag.ContinueOnError)
	bootstrap := fs.String("bootstrap", "127.0.0.1:9092", "Kafka bootstrap servers")
	max := fs.Int("max", 10, "stop after this many records (0: never)")
	wait := fs.Duration("timeout", 10*time.Second, "stop after this long without a record")
	clientConfig := fs.String("consumer-config", "", "a .properties file of Kafka client keys (security.protocol, sasl.*, ssl.*), such as `connectd dev`'s kafka/client.properties")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("consume: usage: connectd consume [flags] TOPIC")
	}
	opts := []kgo.Opt{kgo.SeedBrokers(strings.Split(*bootstrap, ",")...), kgo.ConsumeTopics(fs.Arg(0)), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if *clientConfig != "" {
		props, err := runtime.ReadProperties(*clientConfig)
		if err != nil {
			return err
		}
		sec, err := runtime.ClientSecurityOpts(props)
		if err != nil {
			return fmt.Errorf("%s: %w", *clientConfig, err)
		}
		opts = append(opts, sec...)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	n := 0
	for *max == 0 || n < *max {
		pctx, cancel := context.WithTimeout(ctx, *wait)
		fetches := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if pctx.Err() != nil && fetches.NumRecords() == 0 {
			return nil
		}
		if err := fetches.Err0(); err != nil && pctx.Err() == nil {
			return err
		}
		for _, r := range fetches.Records() {
			fmt.Printf("%s[%d]@%d key=%s value=%s\n", r.Topic, r.Partition, r.Offset, r.Key, r.Value)
			if n++; *max != 0 && n >= *max {
				break
			}
		}
	}
	return nil
}
