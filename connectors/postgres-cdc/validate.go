package postgrescdc

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Validate checks what the config keys alone cannot: that the server is
// reachable, runs with wal_level=logical, lets the user replicate, and that
// every captured table can be captured. Messages say what to change.
func (c *connector) Validate(ctx context.Context, raw map[string]string) map[string][]string {
	cfg, err := parseConfig(raw)
	if err != nil {
		return nil // the ConfigDef's own checks name the keys
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	errs := map[string][]string{}
	add := func(key, format string, args ...any) { errs[key] = append(errs[key], fmt.Sprintf(format, args...)) }

	conn, err := cfg.connect(ctx, false)
	if err != nil {
		add(HostnameKey, "Cannot connect to the database: %v", err)
		return errs
	}
	defer conn.Close(context.Background())

	if rows, err := simpleQuery(ctx, conn, "SHOW wal_level"); err != nil {
		add(HostnameKey, "Cannot read wal_level: %v", err)
	} else if len(rows) == 1 && string(rows[0][0]) != "logical" {
		add(HostnameKey, "The server runs with wal_level=%s; change data capture needs wal_level=logical "+
			"(ALTER SYSTEM SET wal_level = logical, then restart the server)", rows[0][0])
	}
	rows, err := simpleQuery(ctx, conn, "SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user")
	switch {
	case err != nil:
		add(UserKey, "Cannot read the privileges of user %s: %v", cfg.user, err)
	case len(rows) == 1 && string(rows[0][0]) != "t":
		add(UserKey, "User %s may not use replication: ALTER ROLE %s WITH REPLICATION (or connect as a superuser)", cfg.user, quoteIdent(cfg.user))
	default:
		repl, err := cfg.connect(ctx, true)
		if err != nil {
			add(UserKey, "The server refuses a replication connection for user %s (pg_hba.conf needs a 'replication' entry for it): %v", cfg.user, err)
		} else {
			repl.Close(context.Background())
		}
	}
	slot, err := readSlot(ctx, conn, cfg.slot)
	if err == nil && slot.exists {
		if slot.plugin != "pgoutput" {
			add(SlotNameKey, "Replication slot %s exists with plugin %s; the connector needs pgoutput: choose another slot.name or drop the slot", cfg.slot, slot.plugin)
		}
		if slot.database != cfg.dbname {
			add(SlotNameKey, "Replication slot %s belongs to database %s, not %s: choose another slot.name", cfg.slot, slot.database, cfg.dbname)
		}
	}
	if cfg.publicationMode == PublicationDisabled {
		if rows, err := simpleQuery(ctx, conn, "SELECT 1 FROM pg_publication WHERE pubname = "+quoteLiteral(cfg.publication)); err == nil && len(rows) == 0 {
			add(PublicationNameKey, "Publication %s does not exist and publication.autocreate.mode is disabled: create it (CREATE PUBLICATION %s FOR TABLE ...) or change the mode", cfg.publication, quoteIdent(cfg.publication))
		}
	}
	if sig := cfg.signalTable; sig != nil {
		rows, err := simpleQuery(ctx, conn, "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "+
			"WHERE n.nspname = "+quoteLiteral(sig.schema)+" AND c.relname = "+quoteLiteral(sig.name)+" AND a.attnum > 0 AND NOT a.attisdropped")
		switch {
		case err != nil:
			add(SignalCollectionKey, "Cannot read the signal table %s: %v", sig, err)
		case string(rows[0][0]) == "0":
			add(SignalCollectionKey, "The signal table %s does not exist: CREATE TABLE %s (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))", sig, sig.quoted())
		case string(rows[0][0]) != "3":
			add(SignalCollectionKey, "The signal table %s has %s columns; it needs exactly three: id, type and data (text)", sig, rows[0][0])
		}
	}
	for _, m := range checkTables(ctx, conn, cfg) {
		add(TableIncludeKey, "%s", m)
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// checkTables returns a message for every captured table whose updates or
// deletes the connector could not capture faithfully.
func checkTables(ctx context.Context, conn *pgconn.PgConn, cfg *config) []string {
	tables, err := loadTables(ctx, conn, cfg.filter)
	if err != nil {
		return []string{fmt.Sprintf("Cannot list the captured tables: %v", err)}
	}
	var out []string
	for _, t := range tables {
		keyed := t.hasPK() || cfg.keyColumnsFor(t.id.schema, t.id.name) != nil
		switch {
		case t.identity == 'n':
			out = append(out, fmt.Sprintf("Table %s has REPLICA IDENTITY NOTHING: once published, its UPDATEs and DELETEs fail, and no change event could say which row changed. "+
				"ALTER TABLE %s REPLICA IDENTITY DEFAULT (with a primary key) or FULL, or leave the table out of table.include.list", t.id, t.id.quoted()))
		case t.identity == 'd' && !t.hasPK():
			out = append(out, fmt.Sprintf("Table %s has no primary key and REPLICA IDENTITY DEFAULT, which then identifies nothing: once published, its UPDATEs and DELETEs fail. "+
				"Add a primary key, or ALTER TABLE %s REPLICA IDENTITY FULL and name its key in message.key.columns, or leave it out of table.include.list", t.id, t.id.quoted()))
		case !keyed:
			out = append(out, fmt.Sprintf("Table %s has no primary key: its events would have null keys, so compacted topics and consumers could not tell its rows apart. "+
				"Add a primary key or name key columns in message.key.columns (%s:<column>,...)", t.id, strings.ReplaceAll(t.id.String(), ".", `\.`)))
		}
	}
	return out
}
