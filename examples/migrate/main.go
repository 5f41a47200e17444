// Command migrate copies a SQLite table into another database in parallel
// chunks, transforming every row, and can be killed and started again at
// any point: it goes on where it was, and no row is lost or copied twice.
//
//	go run ./examples/migrate                 # 1,000,000 rows, chunks of 10,000
//	go run ./examples/migrate -bench          # time every way of writing, serial first
//
// The source, customers, is made up the first time (-rows rows, the same
// every time). Each chunk is a key range of ids and a par job: it reads
// its rows, transforms them (see transform: names split, e-mail addresses
// normalised and hashed, cents as decimals, Unix times as RFC 3339) and
// its rows reach the accounts table of -dst in one transaction with the
// chunk's row in done_chunks. How the writes share SQLite's one writer is
// -write's business (see writeModes). At the end the program checks dst
// against the source: as many rows, and the same checksum as the
// transform of every source row; it exits 1 if they differ.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/par-project/par"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// config is the program's settings.
type config struct {
	rows, chunk int64
	jobs        int
	src, dst    string
	write       string
	fresh       bool // start dst over
	bench       bool
	quiet       bool // no line per chunk
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Int64Var(&c.rows, "rows", 1_000_000, "rows in the source table (made the first time)")
	fs.Int64Var(&c.chunk, "chunk", 10_000, "rows per chunk (one job each)")
	fs.IntVar(&c.jobs, "jobs", -1, "chunks at once (-1: every CPU)")
	fs.StringVar(&c.src, "src", filepath.Join(os.TempDir(), "par-migrate-src.db"), "source database")
	fs.StringVar(&c.dst, "dst", filepath.Join(os.TempDir(), "par-migrate-dst.db"), "destination database: resumed if it is there")
	fs.StringVar(&c.write, "write", "funnel", "how chunks write: serial, direct, funnel or shards (see the source)")
	fs.BoolVar(&c.fresh, "fresh", false, "remove -dst first instead of resuming it")
	fs.BoolVar(&c.bench, "bench", false, "migrate into fresh copies of -dst every -write way, and compare their times")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case c.rows < 1 || c.chunk < 1:
		return nil, fmt.Errorf("-rows and -chunk must be at least 1")
	case c.jobs == 0:
		return nil, fmt.Errorf("-jobs must not be 0 (-1: every CPU)")
	case !slices.Contains(writeModes, c.write):
		return nil, fmt.Errorf("-write %q: want one of %v", c.write, writeModes)
	case c.src == "" || c.dst == "":
		return nil, fmt.Errorf("-src and -dst must not be empty")
	case filepath.Clean(c.src) == filepath.Clean(c.dst):
		return nil, fmt.Errorf("-src and -dst are the same file")
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "migrate:", err)
		}
		return 2
	}
	t0 := time.Now()
	generated, err := prepareSource(ctx, c.src, c.rows)
	if err != nil {
		fmt.Fprintln(stderr, "migrate:", err)
		return 1
	}
	if generated {
		fmt.Fprintf(stdout, "source %s: %d customers, made in %v\n", c.src, c.rows, time.Since(t0).Round(time.Millisecond))
	} else {
		fmt.Fprintf(stdout, "source %s: %d customers\n", c.src, c.rows)
	}
	if c.bench {
		return bench(ctx, c, stdout, stderr)
	}
	if _, err := migrate(ctx, c, stdout); err != nil {
		fmt.Fprintln(stderr, "migrate:", err)
		return 1
	}
	if err := check(ctx, c, stdout); err != nil {
		fmt.Fprintln(stderr, "migrate:", err)
		return 1
	}
	return 0
}

// removeDst removes dst, its WAL files and its shards.
func removeDst(dst string) error {
	var errs []error
	for _, p := range []string{dst, dst + "-wal", dst + "-shm", dst + "-journal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(append(errs, os.RemoveAll(dst+".shards"))...)
}

// prepareDst creates dst's tables if they are missing, checks that a dst
// being resumed was started with the same rows and chunk size, and
// returns the chunks marked done.
func prepareDst(ctx context.Context, db *sql.DB, c *config) (map[int]bool, error) {
	if _, err := db.ExecContext(ctx, "PRAGMA journal_mode=WAL"); err != nil {
		return nil, err
	}
	for _, stmt := range []string{accountsTable, doneTable, "CREATE TABLE IF NOT EXISTS migration (rows INTEGER NOT NULL, chunk INTEGER NOT NULL)"} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, err
		}
	}
	var rows, chunk int64
	switch err := db.QueryRowContext(ctx, "SELECT rows, chunk FROM migration").Scan(&rows, &chunk); {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := db.ExecContext(ctx, "INSERT INTO migration VALUES (?, ?)", c.rows, c.chunk); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case rows != c.rows || chunk != c.chunk:
		return nil, fmt.Errorf("%s was started with -rows %d -chunk %d: resume it with those, or pass -fresh", c.dst, rows, chunk)
	}
	done := map[int]bool{}
	rs, err := db.QueryContext(ctx, "SELECT chunk FROM done_chunks")
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		var k int
		if err := rs.Scan(&k); err != nil {
			return nil, err
		}
		done[k] = true
	}
	return done, rs.Err()
}

// migrate copies the chunks not yet done into c.dst, the -write way,
// printing a line as each is committed, and returns how long it took.
func migrate(ctx context.Context, c *config, stdout io.Writer) (time.Duration, error) {
	if c.fresh {
		if err := removeDst(c.dst); err != nil {
			return 0, err
		}
	}
	db, err := openDst(c.dst)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // the driver's one connection
	done, err := prepareDst(ctx, db, c)
	if err != nil {
		return 0, err
	}
	shards := c.dst + ".shards"
	// Shards of a killed run are redone: their chunks are not marked done.
	if err := os.RemoveAll(shards); err != nil {
		return 0, err
	}
	total := int((c.rows + c.chunk - 1) / c.chunk)
	var pending []Chunk
	for k := range total {
		if !done[k] {
			lo := int64(k)*c.chunk + 1
			pending = append(pending, Chunk{K: k, Lo: lo, Hi: min(lo+c.chunk, c.rows+1), Src: c.src, Dst: c.dst, Shard: shardPath(shards, k)})
		}
	}
	if len(done) > 0 {
		fmt.Fprintf(stdout, "resuming %s: %d of %d chunks done already, %d to copy\n", c.dst, len(done), total, len(pending))
	} else {
		fmt.Fprintf(stdout, "copying %d chunks of %d rows into %s\n", total, c.chunk, c.dst)
	}
	if c.write == "shards" {
		if err := os.MkdirAll(shards, 0o755); err != nil {
			return 0, err
		}
		defer os.RemoveAll(shards)
	}

	t0 := time.Now()
	var rows int64
	finished := len(done)
	committed := func(d Done) {
		finished++
		rows += int64(d.Rows)
		if !c.quiet {
			fmt.Fprintf(stdout, "chunk %d committed (%d/%d)\n", d.K, finished, total)
		}
	}
	opts := []par.Option{par.Jobs(c.jobs), par.Unordered(), par.BatchSize(1)}
	switch c.write {
	case "serial":
		for _, ch := range pending {
			d, err := Transform.Func()(ctx, ch)
			if err == nil {
				err = commitChunk(ctx, db, ch, d, func(tx *sql.Tx) error { return insertAccounts(ctx, tx, d.Accounts) })
			}
			if err != nil {
				return 0, err
			}
			committed(d)
		}
	case "direct":
		for d, err := range par.Stream(ctx, pending, CopyDirect.Func(), opts...) {
			if err != nil {
				return 0, err
			}
			committed(d)
		}
	case "funnel":
		for d, err := range par.Stream(ctx, pending, Transform.Func(), opts...) {
			if err == nil {
				err = commitChunk(ctx, db, chunkOf(pending, d.K), d, func(tx *sql.Tx) error { return insertAccounts(ctx, tx, d.Accounts) })
			}
			if err != nil {
				return 0, err
			}
			committed(d)
		}
	case "shards":
		conn, err := db.Conn(ctx)
		if err != nil {
			return 0, err
		}
		defer conn.Close()
		for d, err := range par.Stream(ctx, pending, WriteShard.Func(), opts...) {
			if err == nil {
				err = merge(ctx, conn, chunkOf(pending, d.K), d)
			}
			if err != nil {
				return 0, err
			}
			committed(d)
		}
	}
	took := time.Since(t0)
	jobs := "no par"
	if c.write != "serial" {
		jobs = fmt.Sprintf("%d jobs at once", resolve(c.jobs))
	}
	fmt.Fprintf(stdout, "copied %d chunks, %d rows in %v (%.0f rows/s), -write %s, %s\n",
		len(pending), rows, took.Round(time.Millisecond), float64(rows)/took.Seconds(), c.write, jobs)
	return took, nil
}

// chunkOf returns the pending chunk numbered k.
func chunkOf(pending []Chunk, k int) Chunk {
	i, _ := slices.BinarySearchFunc(pending, k, func(c Chunk, k int) int { return c.K - k })
	return pending[i]
}

func resolve(jobs int) int {
	if jobs > 0 {
		return jobs
	}
	return max(1, runtime.GOMAXPROCS(0)+1+jobs)
}

// A Tally counts and sums one key range of the source's transform and
// of dst.
type Tally struct {
	SrcRows, DstRows int64
	SrcSum, DstSum   uint64
}

// Verify reads one key range from the source, transforms it, reads the
// same range from dst, and tallies both.
var Verify = par.Register("migrate.verify", func(ctx context.Context, c Chunk) (Tally, error) {
	want, err := readChunk(ctx, c.Src, c.Lo, c.Hi)
	if err != nil {
		return Tally{}, err
	}
	got, err := readAccounts(ctx, c.Dst, c.Lo, c.Hi)
	if err != nil {
		return Tally{}, err
	}
	return Tally{SrcRows: int64(len(want)), DstRows: int64(len(got)), SrcSum: sumOf(want), DstSum: sumOf(got)}, nil
})

// check compares dst with the source, a chunk's key range per job: as
// many rows, and the checksum of the source's transform. Rows of dst
// outside every range would show in its total count.
func check(ctx context.Context, c *config, stdout io.Writer) error {
	t0 := time.Now()
	var ranges []Chunk
	for lo := int64(1); lo <= c.rows; lo += c.chunk {
		ranges = append(ranges, Chunk{Lo: lo, Hi: min(lo+c.chunk, c.rows+1), Src: c.src, Dst: c.dst})
	}
	tallies, err := par.Map(ctx, ranges, Verify.Func(), par.Jobs(c.jobs), par.BatchSize(1))
	if err != nil {
		return err
	}
	var t Tally
	for _, x := range tallies {
		t.SrcRows += x.SrcRows
		t.DstRows += x.DstRows
		t.SrcSum += x.SrcSum
		t.DstSum += x.DstSum
	}
	db, err := open(c.dst, "_pragma=query_only(1)")
	if err != nil {
		return err
	}
	defer db.Close()
	var all int64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM accounts").Scan(&all); err != nil {
		return err
	}
	if t.DstRows != t.SrcRows || all != t.DstRows || t.DstSum != t.SrcSum {
		return fmt.Errorf("check failed: %s has %d rows (%d in the source's id range), checksum %016x; the source's transform has %d rows, checksum %016x",
			c.dst, all, t.DstRows, t.DstSum, t.SrcRows, t.SrcSum)
	}
	fmt.Fprintf(stdout, "check: %d rows, checksum %016x, as the source's transform (%v)\n", all, t.DstSum, time.Since(t0).Round(time.Millisecond))
	return nil
}

// bench migrates the source into a fresh copy of dst every -write way and
// prints their times, the serial one first.
func bench(ctx context.Context, c *config, stdout, stderr io.Writer) int {
	var serial time.Duration
	type row struct {
		mode string
		took time.Duration
	}
	var rows []row
	for _, mode := range writeModes {
		bc := *c
		bc.write, bc.fresh, bc.quiet = mode, true, true
		bc.dst = c.dst + ".bench-" + mode
		took, err := migrate(ctx, &bc, stdout)
		if err == nil {
			err = check(ctx, &bc, stdout)
		}
		if rerr := removeDst(bc.dst); err == nil {
			err = rerr
		}
		if err != nil {
			fmt.Fprintln(stderr, "migrate:", err)
			return 1
		}
		if mode == "serial" {
			serial = took
		}
		rows = append(rows, row{mode, took})
	}
	fmt.Fprintf(stdout, "\n%d rows in chunks of %d, %d jobs at once on %d CPUs:\n", c.rows, c.chunk, resolve(c.jobs), runtime.NumCPU())
	for _, r := range rows {
		fmt.Fprintf(stdout, "  -write %-7s %8v  %9.0f rows/s  %.2f× serial\n", r.mode, r.took.Round(time.Millisecond),
			float64(c.rows)/r.took.Seconds(), serial.Seconds()/r.took.Seconds())
	}
	return 0
}
