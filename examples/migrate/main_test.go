package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// envMain makes the test binary run the program: how the test starts it
// as a process it can kill.
const envMain = "MIGRATE_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envMain) != "" {
		main()
	}
	goleak.VerifyTestMain(m)
}

func TestTransform(t *testing.T) {
	got := transform(Customer{ID: 7, Name: "Ada  Lovelace", Email: "  ADA.Lovelace7@Example.COM ", BalanceCents: -1205, Created: 1700000000})
	want := Account{
		ID: 7, FirstName: "Ada", LastName: "Lovelace", Email: "ada.lovelace7@example.com", Domain: "example.com",
		// printf ada.lovelace7@example.com | sha256sum
		EmailHash: "653e9f6fa184afd3cb966add73743fa0bb64a01b33d6dc29117fc694bed72306",
		Balance:   "-12.05", Created: "2023-11-14T22:13:20Z",
	}
	if got != want {
		t.Errorf("transform = %+v\nwant %+v", got, want)
	}
	if a := transform(Customer{ID: 1, Name: "Plato", Email: "p@x"}); a.FirstName != "Plato" || a.LastName != "" || a.Domain != "x" {
		t.Errorf("one name: %+v", a)
	}
	for cents, want := range map[int64]string{0: "0.00", 5: "0.05", -5: "-0.05", 123456: "1234.56", -100: "-1.00"} {
		if got := decimal(cents); got != want {
			t.Errorf("decimal(%d) = %q, want %q", cents, got, want)
		}
	}
}

// expected returns the number of rows and the checksum the accounts table
// must have: the transform of every row the generator makes, computed
// without any database.
func expected(rows int64) uint64 {
	var sum uint64
	for id := int64(1); id <= rows; id++ {
		a := transform(customer(id))
		sum += a.hash()
	}
	return sum
}

// checksum returns the number of rows in dst's accounts and the sum of
// their hashes, in one scan of the whole table.
func checksum(ctx context.Context, dst string) (n int64, sum uint64, err error) {
	db, err := open(dst, "_pragma=query_only(1)")
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT id, first_name, last_name, email, domain, email_hash, balance, created FROM accounts")
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var a Account
		if err := rows.Scan(&a.ID, &a.FirstName, &a.LastName, &a.Email, &a.Domain, &a.EmailHash, &a.Balance, &a.Created); err != nil {
			return 0, 0, err
		}
		n++
		sum += a.hash()
	}
	return n, sum, rows.Err()
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var committedLine = regexp.MustCompile(`^chunk \d+ committed \(\d+/\d+\)$`)

// runKilled starts the program with args as a process and SIGKILLs it
// once it has printed that committed chunks lines.
func runKilled(t *testing.T, args []string, committed int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envMain+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := 0
	sc := bufio.NewScanner(out)
	for seen < committed && sc.Scan() {
		if committedLine.MatchString(sc.Text()) {
			seen++
		}
	}
	if seen == committed {
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	for sc.Scan() { // drain, so that Wait returns
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("after %d committed chunks: %v, want killed by SIGKILL; stderr:\n%s", seen, err, stderr.String())
	}
}

// dstState returns the chunks marked done, the rows they hold by their
// own count, and the rows in accounts.
func dstState(t *testing.T, dst string) (chunks, chunkRows, rows int64) {
	t.Helper()
	db, err := open(dst, "_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow("SELECT count(*), coalesce(sum(rows), 0) FROM done_chunks").Scan(&chunks, &chunkRows); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT count(*) FROM accounts").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	return chunks, chunkRows, rows
}

// testResume kills a run after a quarter of the chunks, checks that dst
// then holds exactly the rows of the chunks marked done, runs again, and
// checks the whole table against the transform of the source.
func testResume(t *testing.T, src string, rows, chunk int64, write string) {
	dst := filepath.Join(t.TempDir(), "dst.db")
	args := []string{"-rows", strconv.FormatInt(rows, 10), "-chunk", strconv.FormatInt(chunk, 10), "-src", src, "-dst", dst, "-write", write, "-jobs", "2"}
	total := (rows + chunk - 1) / chunk
	runKilled(t, args, int(total/4))

	chunks, chunkRows, got := dstState(t, dst)
	if chunks < total/4 || chunks >= total {
		t.Fatalf("killed run left %d of %d chunks done, want at least %d and not all", chunks, total, total/4)
	}
	if got != chunkRows {
		t.Fatalf("killed run left %d rows, but its %d done chunks hold %d: a chunk was half written", got, chunks, chunkRows)
	}

	var out, errs bytes.Buffer
	if code := run(testCtx(t), args, &out, &errs); code != 0 {
		t.Fatalf("second run: exit %d: %s\n%s", code, errs.String(), out.String())
	}
	resumed := "resuming " + dst + ": " + strconv.FormatInt(chunks, 10) + " of " + strconv.FormatInt(total, 10) + " chunks done already"
	if !strings.Contains(out.String(), resumed) {
		t.Errorf("second run did not say %q:\n%s", resumed, out.String())
	}
	chunks, chunkRows, got = dstState(t, dst)
	if chunks != total || chunkRows != rows || got != rows {
		t.Errorf("after the second run: %d chunks done holding %d rows, %d rows in accounts; want %d, %d, %d", chunks, chunkRows, got, total, rows, rows)
	}
	n, sum, err := checksum(testCtx(t), dst)
	if err != nil {
		t.Fatal(err)
	}
	if want := expected(rows); n != rows || sum != want {
		t.Errorf("accounts: %d rows, checksum %016x; want %d rows, checksum %016x", n, sum, rows, want)
	}
	if _, err := os.Stat(dst + ".shards"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("shards left behind: %v", err)
	}
}

// TestKillAndResume kills the migration of 100,000 rows after 6 of its
// 25 chunks and runs it again, the default way (shards).
func TestKillAndResume(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src.db")
	if _, err := prepareSource(testCtx(t), src, 100_000); err != nil {
		t.Fatal(err)
	}
	testResume(t, src, 100_000, 4_000, "shards")
}

// TestKillAndResumeEveryWay does the same for the other ways of writing,
// on fewer rows.
func TestKillAndResumeEveryWay(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src.db")
	if _, err := prepareSource(testCtx(t), src, 20_000); err != nil {
		t.Fatal(err)
	}
	for _, write := range writeModes {
		t.Run(write, func(t *testing.T) { testResume(t, src, 20_000, 500, write) })
	}
}

// The check at the end fails, and says so, when a row of dst has changed
// or is missing.
func TestCheckFails(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src.db"), filepath.Join(dir, "dst.db")
	args := []string{"-rows", "3000", "-chunk", "1000", "-src", src, "-dst", dst}
	var out, errs bytes.Buffer
	if code := run(testCtx(t), args, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if !strings.Contains(out.String(), "check: 3000 rows") {
		t.Errorf("no check line in:\n%s", out.String())
	}
	for _, damage := range []string{"UPDATE accounts SET balance = '0.00' WHERE id = 1234", "DELETE FROM accounts WHERE id = 99"} {
		db, err := sql.Open("sqlite", dst)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(damage); err != nil {
			t.Fatal(err)
		}
		db.Close()
		out.Reset()
		errs.Reset()
		if code := run(testCtx(t), args, &out, &errs); code != 1 {
			t.Errorf("%s: exit %d, want 1", damage, code)
		}
		if !strings.Contains(errs.String(), "check failed") || !strings.Contains(out.String(), "3 of 3 chunks done already") {
			t.Errorf("%s: want the check to fail on a finished dst; stdout:\n%s\nstderr:\n%s", damage, out.String(), errs.String())
		}
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src.db"), filepath.Join(dir, "dst.db")
	for _, args := range [][]string{
		{"-rows", "0"}, {"-chunk", "0"}, {"-jobs", "0"}, {"-write", "fast"}, {"-rows", "x"},
		{"-src", src, "-dst", src}, {"extra"},
	} {
		var out, errs bytes.Buffer
		if code := run(testCtx(t), args, &out, &errs); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if errs.Len() == 0 {
			t.Errorf("%v: nothing on stderr", args)
		}
	}

	// A dst started with another chunk size, a source of another size,
	// and a source that is not a database are errors, with exit 1.
	var out, errs bytes.Buffer
	if code := run(testCtx(t), []string{"-rows", "2000", "-chunk", "500", "-src", src, "-dst", dst}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	notDB := filepath.Join(dir, "not.db")
	if err := os.WriteFile(notDB, []byte("not a database, just text that is long enough to be read as a header, surely"), 0o644); err != nil {
		t.Fatal(err)
	}
	for args, want := range map[string]string{
		"-rows 2000 -chunk 400": "started with -rows 2000 -chunk 500",
		"-rows 3000 -chunk 500": "has 2000 rows, -rows says 3000",
	} {
		errs.Reset()
		if code := run(testCtx(t), append(strings.Fields(args), "-src", src, "-dst", dst), &out, &errs); code != 1 || !strings.Contains(errs.String(), want) {
			t.Errorf("%s: exit %d, stderr %q; want 1 and %q", args, code, errs.String(), want)
		}
	}
	errs.Reset()
	if code := run(testCtx(t), []string{"-rows", "2000", "-src", notDB, "-dst", dst + "2"}, &out, &errs); code != 1 || !strings.Contains(errs.String(), "migrate:") {
		t.Errorf("source not a database: exit %d, stderr %q", code, errs.String())
	}
}
