package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/par-project/par"
)

// How the chunks write. SQLite lets one connection write a database at a
// time, so only the reading and the transform can run side by side; the
// writes into dst take turns whatever par does. -write chooses how:
//
//   - serial: no par. One loop reads, transforms and writes each chunk in
//     turn: the baseline.
//   - direct: each job reads and transforms its chunk, then writes it into
//     dst itself in a transaction of its own (BEGIN IMMEDIATE). SQLite's
//     lock makes the writes take turns while the other jobs read and
//     transform; a job waiting for the lock polls for it (SQLite's busy
//     handler sleeps between tries), which can leave the lock idle.
//   - funnel (the default): jobs read and transform; their rows come back
//     to the driver, which writes every chunk through its one connection,
//     as the chunks finish. No lock is ever waited for, and the rows could
//     come from worker processes as well; the writing uses one core.
//   - shards: each job writes its chunk into a file of its own (a shard,
//     with no journal: it is rebuilt if lost), so the jobs write in
//     parallel; the driver then merges each shard into dst with one
//     INSERT … SELECT, which SQLite runs without a Go call per row.
//
// Whatever the way, a chunk's rows are committed in one transaction
// together with the chunk's row in done_chunks: a chunk is in dst whole
// and marked done, or not at all. A run killed at any point and started
// again skips the chunks marked done and does the others from scratch,
// so no row is lost or written twice (accounts' primary key would refuse
// a second copy anyway).
//
// Measured with -bench (1,000,000 rows, chunks of 10,000, 2 jobs on a
// shared 2-core machine, six runs at load 1.3 to 2.9): funnel took 4.5 to
// 8.6 s (median 4.7), direct 4.4 to 7.6 s (median 5.3), shards 5.4 to 8.5
// s, serial 6.5 to 9.7 s. Shards pay for writing every row twice and for
// merging into an index that grows; direct loses time when the lock is
// free and its waiters are asleep.
var writeModes = []string{"serial", "direct", "funnel", "shards"}

// A Chunk is one job: the source rows with Lo ≤ id < Hi.
type Chunk struct {
	K      int   // the chunk's number, from 0
	Lo, Hi int64 // the key range
	Src    string
	Dst    string // direct: the database to write
	Shard  string // shards: the file to write
}

// Done is what a job returns.
type Done struct {
	K        int
	Rows     int
	Sum      uint64    // checksum of the chunk's transformed rows (see Account.hash)
	Accounts []Account // funnel: the rows, for the driver to write
}

// The jobs, registered so that they could run in worker processes too.
var (
	// Transform reads and transforms a chunk and returns its rows (funnel).
	Transform = par.Register("migrate.transform", func(ctx context.Context, c Chunk) (Done, error) {
		as, err := readChunk(ctx, c.Src, c.Lo, c.Hi)
		if err != nil {
			return Done{}, err
		}
		return Done{K: c.K, Rows: len(as), Sum: sumOf(as), Accounts: as}, nil
	})
	// CopyDirect reads, transforms and writes a chunk into dst (direct).
	CopyDirect = par.Register("migrate.direct", func(ctx context.Context, c Chunk) (Done, error) {
		as, err := readChunk(ctx, c.Src, c.Lo, c.Hi)
		if err != nil {
			return Done{}, err
		}
		db, err := openDst(c.Dst)
		if err != nil {
			return Done{}, err
		}
		defer db.Close()
		d := Done{K: c.K, Rows: len(as), Sum: sumOf(as)}
		return d, commitChunk(ctx, db, c, d, func(tx *sql.Tx) error { return insertAccounts(ctx, tx, as) })
	})
	// WriteShard reads and transforms a chunk and writes it into a shard
	// file of its own (shards).
	WriteShard = par.Register("migrate.shard", func(ctx context.Context, c Chunk) (Done, error) {
		as, err := readChunk(ctx, c.Src, c.Lo, c.Hi)
		if err != nil {
			return Done{}, err
		}
		// A shard left by a killed run may be half written: start afresh.
		if err := os.Remove(c.Shard); err != nil && !errors.Is(err, os.ErrNotExist) {
			return Done{}, err
		}
		db, err := open(c.Shard, "_pragma=journal_mode(OFF)", "_pragma=synchronous(OFF)")
		if err != nil {
			return Done{}, err
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, accountsTable); err != nil {
			return Done{}, err
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return Done{}, err
		}
		defer tx.Rollback()
		if err := insertAccounts(ctx, tx, as); err != nil {
			return Done{}, err
		}
		return Done{K: c.K, Rows: len(as), Sum: sumOf(as)}, tx.Commit()
	})
)

func sumOf(as []Account) uint64 {
	var s uint64
	for i := range as {
		s += as[i].hash()
	}
	return s
}

// openDst opens dst for writing: transactions take the write lock as they
// begin (BEGIN IMMEDIATE), so that two writers never both hold a read
// lock and wait for each other.
func openDst(path string) (*sql.DB, error) {
	return open(path, "_pragma=synchronous(NORMAL)", "_txlock=immediate")
}

// doneTable records the chunks committed to dst, each in the transaction
// that wrote its rows.
const doneTable = `CREATE TABLE IF NOT EXISTS done_chunks (
	chunk INTEGER PRIMARY KEY, lo INTEGER NOT NULL, hi INTEGER NOT NULL,
	rows INTEGER NOT NULL, checksum INTEGER NOT NULL)`

// commitChunk runs write and records chunk c as done, in one transaction;
// if c is done already (a job run twice), it writes nothing.
func commitChunk(ctx context.Context, db *sql.DB, c Chunk, d Done, write func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM done_chunks WHERE chunk = ?", c.K).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if err := write(tx); err != nil {
		return fmt.Errorf("chunk %d: %w", c.K, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO done_chunks VALUES (?, ?, ?, ?, ?)", c.K, c.Lo, c.Hi, d.Rows, int64(d.Sum)); err != nil {
		return err
	}
	return tx.Commit()
}

// merge copies the shard of chunk c into dst, through conn, and marks c
// done in the same transaction. ATTACH cannot run inside a transaction,
// so it comes first, on the connection the transaction then uses.
func merge(ctx context.Context, conn *sql.Conn, c Chunk, d Done) error {
	if _, err := conn.ExecContext(ctx, "ATTACH DATABASE ? AS shard", c.Shard); err != nil {
		return err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		conn.ExecContext(ctx, "DETACH DATABASE shard")
		return err
	}
	err = func() error {
		defer tx.Rollback()
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM done_chunks WHERE chunk = ?", c.K).Scan(&n); err != nil || n > 0 {
			return err
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO accounts SELECT * FROM shard.accounts")
		if err != nil {
			return fmt.Errorf("chunk %d: %w", c.K, err)
		}
		if got, _ := res.RowsAffected(); got != int64(d.Rows) {
			return fmt.Errorf("chunk %d: shard holds %d rows, its job wrote %d", c.K, got, d.Rows)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO done_chunks VALUES (?, ?, ?, ?, ?)", c.K, c.Lo, c.Hi, d.Rows, int64(d.Sum)); err != nil {
			return err
		}
		return tx.Commit()
	}()
	if _, derr := conn.ExecContext(ctx, "DETACH DATABASE shard"); err == nil {
		err = derr
	}
	if err == nil {
		err = os.Remove(c.Shard)
	}
	return err
}

// shardPath is where chunk k's shard lives while it waits to be merged.
func shardPath(dir string, k int) string {
	return filepath.Join(dir, "chunk-"+strconv.Itoa(k)+".db")
}
