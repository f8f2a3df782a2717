package postgrescdc

import (
	"context"
	"strings"
	"testing"

	"github.com/connectd/connectd/internal/pgtest"
)

// TestValidate checks that Validate names the key to change, with a
// message that says what is wrong and what to do, for each problem a real
// server can show.
func TestValidate(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app",
		"CREATE TABLE good (id int PRIMARY KEY)",
		"CREATE TABLE nopk (a int)",
		"CREATE TABLE nothing (id int PRIMARY KEY)", "ALTER TABLE nothing REPLICA IDENTITY NOTHING",
		"CREATE TABLE fullnopk (a int, b int)", "ALTER TABLE fullnopk REPLICA IDENTITY FULL",
		"CREATE TABLE badsignal (id text PRIMARY KEY, type text)",
		"CREATE TABLE debezium_signal (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))",
		"CREATE ROLE plain LOGIN",
		"GRANT SELECT ON ALL TABLES IN SCHEMA public TO plain",
	)
	replica := pgtest.Start(t, pgtest.Setting("wal_level", "replica"))
	replica.CreateDatabase("app")

	base := func(s *pgtest.Server, extra map[string]string) map[string]string {
		cfg := s.Config("app")
		cfg["topic.prefix"] = "srv"
		for k, v := range extra {
			cfg[k] = v
		}
		return cfg
	}
	tests := map[string]struct {
		cfg  map[string]string
		want map[string][]string // key → substrings of its one message
	}{
		"good table": {cfg: base(pg, map[string]string{"table.include.list": `public\.good`})},
		"unreachable": {cfg: base(pg, map[string]string{"database.port": "1"}),
			want: map[string][]string{HostnameKey: {"Cannot connect"}}},
		"wal_level": {cfg: base(replica, nil),
			want: map[string][]string{HostnameKey: {"wal_level=replica", "wal_level = logical", "restart"}}},
		"no replication privilege": {cfg: base(pg, map[string]string{"database.user": "plain", "table.include.list": `public\.good`}),
			want: map[string][]string{UserKey: {"plain", "WITH REPLICATION"}}},
		"no primary key": {cfg: base(pg, map[string]string{"table.include.list": `public\.nopk`}),
			want: map[string][]string{TableIncludeKey: {"public.nopk", "no primary key", "REPLICA IDENTITY FULL"}}},
		"replica identity nothing": {cfg: base(pg, map[string]string{"table.include.list": `public\.nothing`}),
			want: map[string][]string{TableIncludeKey: {"public.nothing", "REPLICA IDENTITY NOTHING", "fail"}}},
		"full identity without a key": {cfg: base(pg, map[string]string{"table.include.list": `public\.fullnopk`}),
			want: map[string][]string{TableIncludeKey: {"public.fullnopk", "null keys", "message.key.columns"}}},
		"full identity with message.key.columns": {cfg: base(pg, map[string]string{"table.include.list": `public\.fullnopk`,
			"message.key.columns": `public\.fullnopk:a,b`})},
		"signal table": {cfg: base(pg, map[string]string{"table.include.list": `public\.good`, "signal.data.collection": "public.debezium_signal"})},
		"missing signal table": {cfg: base(pg, map[string]string{"table.include.list": `public\.good`, "signal.data.collection": "public.nosuch"}),
			want: map[string][]string{SignalCollectionKey: {"public.nosuch", "does not exist", "CREATE TABLE"}}},
		"signal table of two columns": {cfg: base(pg, map[string]string{"table.include.list": `public\.good`, "signal.data.collection": "public.badsignal"}),
			want: map[string][]string{SignalCollectionKey: {"public.badsignal", "2 columns", "id, type and data"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := (&connector{}).Validate(context.Background(), tc.cfg)
			for key, subs := range tc.want {
				msgs := got[key]
				if len(msgs) != 1 {
					t.Fatalf("%s: %d messages %q, want one", key, len(msgs), msgs)
				}
				for _, s := range subs {
					if !strings.Contains(msgs[0], s) {
						t.Errorf("%s: %q does not say %q", key, msgs[0], s)
					}
				}
			}
			for key, msgs := range got {
				if _, ok := tc.want[key]; !ok {
					t.Errorf("unexpected messages for %s: %q", key, msgs)
				}
			}
		})
	}
}

// TestConfigKeyPairs refuses include and exclude lists together, as
// Debezium does.
func TestConfigKeyPairs(t *testing.T) {
	t.Parallel()
	_, err := parseConfig(map[string]string{"database.hostname": "h", "database.user": "u", "database.dbname": "d", "topic.prefix": "p",
		"table.include.list": "a", "table.exclude.list": "b"})
	if err == nil || !strings.Contains(err.Error(), "cannot both be set") {
		t.Fatalf("parseConfig = %v, want an error naming both lists", err)
	}
	_, err = parseConfig(map[string]string{"database.hostname": "h", "database.user": "u", "database.dbname": "d", "topic.prefix": "p",
		"message.key.columns": "public.t"})
	if err == nil {
		t.Fatal("a message.key.columns entry without columns was accepted")
	}
}
