package postgrescdc

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
)

// slotState is what pg_replication_slots says of the connector's slot.
type slotState struct {
	exists    bool
	plugin    string
	database  string
	confirmed uint64
	walStatus string
	active    bool
}

func readSlot(ctx context.Context, conn *pgconn.PgConn, name string) (slotState, error) {
	rows, err := simpleQuery(ctx, conn, "SELECT plugin, database, COALESCE(confirmed_flush_lsn::text, '0/0'), COALESCE(wal_status, ''), active "+
		"FROM pg_replication_slots WHERE slot_name = "+quoteLiteral(name))
	if err != nil {
		return slotState{}, fmt.Errorf("read replication slot %s: %w", name, err)
	}
	if len(rows) == 0 {
		return slotState{}, nil
	}
	r := rows[0]
	lsn, err := pglogrepl.ParseLSN(string(r[2]))
	if err != nil {
		return slotState{}, err
	}
	return slotState{exists: true, plugin: string(r[0]), database: string(r[1]), confirmed: uint64(lsn),
		walStatus: string(r[3]), active: string(r[4]) == "t"}, nil
}

// createSlot creates the logical slot on a replication connection. With
// export, the result names a snapshot that stays valid until the
// connection runs its next command: read under it, then start replication
// from the consistent point.
func createSlot(ctx context.Context, repl *pgconn.PgConn, name string, export bool) (pglogrepl.CreateReplicationSlotResult, error) {
	action := "NOEXPORT_SNAPSHOT"
	if export {
		action = "EXPORT_SNAPSHOT"
	}
	res, err := pglogrepl.CreateReplicationSlot(ctx, repl, name, "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: action})
	if err != nil {
		return res, fmt.Errorf("create replication slot %s: %w", name, err)
	}
	return res, nil
}

func dropSlot(ctx context.Context, conn *pgconn.PgConn, name string) error {
	_, err := simpleQuery(ctx, conn, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = "+quoteLiteral(name))
	return err
}

// ensurePublication makes sure the publication exists as
// publication.autocreate.mode asks: all_tables creates it FOR ALL TABLES;
// filtered creates it for the captured tables, or sets its tables to them;
// disabled only checks that it exists.
func ensurePublication(ctx context.Context, conn *pgconn.PgConn, cfg *config) error {
	rows, err := simpleQuery(ctx, conn, "SELECT puballtables, pubviaroot FROM pg_publication WHERE pubname = "+quoteLiteral(cfg.publication))
	if err != nil {
		return fmt.Errorf("read publication %s: %w", cfg.publication, err)
	}
	exists := len(rows) > 0
	cfg.filter.viaRoot = exists && string(rows[0][1]) == "t"
	switch cfg.publicationMode {
	case PublicationDisabled:
		if !exists {
			return fatalf("postgres-cdc: publication %q does not exist and publication.autocreate.mode is disabled: "+
				"CREATE PUBLICATION %s FOR TABLE ... (the captured tables), or set publication.autocreate.mode", cfg.publication, cfg.publication)
		}
		return nil
	case PublicationAllTables:
		if exists {
			return nil
		}
		if _, err := simpleQuery(ctx, conn, "CREATE PUBLICATION "+quoteIdent(cfg.publication)+" FOR ALL TABLES"); err != nil {
			return fmt.Errorf("create publication %s FOR ALL TABLES (needs superuser; or create it yourself and set publication.autocreate.mode=disabled): %w", cfg.publication, err)
		}
		return nil
	}
	tables, err := loadTables(ctx, conn, cfg.filter)
	if err != nil {
		return err
	}
	if len(tables) == 0 {
		return fatalf("postgres-cdc: no table matches the include and exclude lists, so publication.autocreate.mode=filtered has nothing to publish")
	}
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.id.quoted()
	}
	list := strings.Join(names, ", ")
	if !exists {
		_, err = simpleQuery(ctx, conn, "CREATE PUBLICATION "+quoteIdent(cfg.publication)+" FOR TABLE "+list)
	} else if string(rows[0][0]) == "f" {
		_, err = simpleQuery(ctx, conn, "ALTER PUBLICATION "+quoteIdent(cfg.publication)+" SET TABLE "+list)
	}
	if err != nil {
		return fmt.Errorf("publication %s for the captured tables: %w", cfg.publication, err)
	}
	return nil
}
