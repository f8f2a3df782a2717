package postgrescdc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Session settings of every connection: the text forms the decoders
// expect, identical for pgoutput (which prints with the walsender's
// settings) and snapshot queries.
var sessionParams = map[string]string{
	"application_name":   "connectd-postgres-cdc",
	"TimeZone":           "UTC",
	"DateStyle":          "ISO, MDY",
	"IntervalStyle":      "iso_8601",
	"extra_float_digits": "3",
	"bytea_output":       "hex",
	"lc_monetary":        "C",
}

func dsnValue(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// connConfig returns the connection settings; replication opens a
// logical replication connection.
func (c *config) connConfig(replication bool) (*pgconn.Config, error) {
	dsn := fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=prefer connect_timeout=10",
		dsnValue(c.host), c.port, dsnValue(c.user), dsnValue(c.dbname))
	if c.password != "" {
		dsn += " password=" + dsnValue(c.password)
	}
	pc, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("connection settings: %w", err)
	}
	for k, v := range sessionParams {
		pc.RuntimeParams[k] = v
	}
	if replication {
		pc.RuntimeParams["replication"] = "database"
	}
	return pc, nil
}

func (c *config) connect(ctx context.Context, replication bool) (*pgconn.PgConn, error) {
	pc, err := c.connConfig(replication)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := pgconn.ConnectConfig(cctx, pc)
	if err != nil {
		return nil, fmt.Errorf("connect to %s:%d/%s as %s: %w", c.host, c.port, c.dbname, c.user, err)
	}
	return conn, nil
}

// fatalError marks an error that reconnecting cannot fix: the task fails
// with it.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

func fatal(err error) error {
	if err == nil {
		return nil
	}
	return &fatalError{err}
}

func fatalf(format string, args ...any) error { return &fatalError{fmt.Errorf(format, args...)} }

func isFatal(err error) bool {
	var f *fatalError
	return errors.As(err, &f)
}

// SQLSTATEs the server answers when it cannot replicate from a slot.
const (
	codeUndefinedObject = "42704" // the slot does not exist
	codeUndefinedFile   = "58P01" // requested WAL segment removed
)

// classify turns a server error that reconnecting cannot fix into a fatal
// error saying what to do; anything else stays retriable.
func (c *config) classify(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch {
	case pe.Code == codeUndefinedObject && strings.Contains(pe.Message, "replication slot"):
		return fatalf("postgres-cdc: replication slot %q was dropped while the connector ran (%s); "+
			"changes since the last committed offset are lost. Reset the connector's offsets and start again "+
			"(a new snapshot), or set snapshot.mode=when_needed to take one automatically", c.slot, pe.Message)
	case pe.Code == codeUndefinedFile || strings.Contains(pe.Message, "has already been removed") ||
		strings.Contains(pe.Message, "can no longer get changes"):
		return fatalf("postgres-cdc: replication slot %q lost WAL the connector still needs (%s); "+
			"changes since the last committed offset are gone. Raise max_slot_wal_keep_size, then reset the "+
			"connector's offsets and drop the slot to take a new snapshot (or set snapshot.mode=when_needed)", c.slot, pe.Message)
	case pe.Code == "28000" || pe.Code == "28P01" || pe.Code == "42501" || pe.Code == "3D000":
		// Authentication, privileges, missing database: an operator must act.
		return fatal(err)
	}
	return err
}

func lsnString(lsn uint64) string {
	return strconv.FormatUint(lsn>>32, 16) + "/" + strconv.FormatUint(lsn&0xffffffff, 16)
}
