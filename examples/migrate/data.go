package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
)

// Customer is a row of the source table, customers, as an old system kept
// it: one name field, an e-mail address as typed, a balance in cents and
// a Unix time.
type Customer struct {
	ID           int64
	Name         string
	Email        string
	BalanceCents int64
	Created      int64
}

// Account is a row of the migrated table, accounts: what the migration
// makes of a Customer (see transform).
type Account struct {
	ID        int64
	FirstName string
	LastName  string
	Email     string // trimmed and lower-cased
	Domain    string // the part after @
	EmailHash string // hex SHA-256 of Email: a key for analytics that does not show the address
	Balance   string // decimal, e.g. "-12.05"
	Created   string // RFC 3339, UTC
}

// transform is the migration's work on one row: split the name at its
// first space, normalise the e-mail address, add its domain and its
// SHA-256, write the balance as a decimal and the time as RFC 3339.
func transform(c Customer) Account {
	first, last, _ := strings.Cut(strings.TrimSpace(c.Name), " ")
	email := strings.ToLower(strings.TrimSpace(c.Email))
	_, domain, _ := strings.Cut(email, "@")
	sum := sha256.Sum256([]byte(email))
	return Account{
		ID:        c.ID,
		FirstName: first,
		LastName:  strings.TrimSpace(last),
		Email:     email,
		Domain:    domain,
		EmailHash: hex.EncodeToString(sum[:]),
		Balance:   decimal(c.BalanceCents),
		Created:   time.Unix(c.Created, 0).UTC().Format(time.RFC3339),
	}
}

// decimal writes cents as a decimal amount: -1205 is "-12.05".
func decimal(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

// hash is a row's contribution to a table's checksum, which is the sum of
// its rows' hashes (mod 2⁶⁴): it does not depend on the order of rows,
// and a row lost, duplicated or changed changes it.
func (a *Account) hash() uint64 {
	h := fnv.New64a()
	for _, f := range []string{strconv.FormatInt(a.ID, 10), a.FirstName, a.LastName, a.Email, a.Domain, a.EmailHash, a.Balance, a.Created} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// The source data is made up, the same for every run: customer id's
// fields are drawn from a hash of id.
var (
	firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis", "Radia", "John"}
	lastNames  = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Ritchie", "Perlman", "Backus", "van Rossum"}
	domains    = []string{"Example.com", "example.org", "MAIL.example.net", "example.co.uk"}
)

// mix is splitmix64's finaliser: a well-spread hash of x.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// customer returns the source row with this id.
func customer(id int64) Customer {
	r := mix(uint64(id))
	first := firstNames[r%uint64(len(firstNames))]
	last := lastNames[(r>>8)%uint64(len(lastNames))]
	name := first + " " + last
	if r>>16%50 == 0 {
		name = first // a few customers gave one name
	}
	email := first + "." + strings.ReplaceAll(last, " ", "") + strconv.FormatInt(id, 10) + "@" + domains[(r>>24)%uint64(len(domains))]
	if r>>32%7 == 0 {
		email = "  " + strings.ToUpper(email) + " " // typed in a hurry
	}
	return Customer{
		ID:           id,
		Name:         name,
		Email:        email,
		BalanceCents: int64(r>>40%10_000_000) - 100_000,
		Created:      1420070400 + int64(r>>20%(10*365*86400)), // 2015 to 2024
	}
}

// open opens the SQLite database at path with the driver's parameters,
// each like "_pragma=journal_mode(WAL)". A connection waits up to a
// minute for another's write lock.
func open(path string, params ...string) (*sql.DB, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("database path %q: ? and # are not allowed", path)
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(60000)"
	for _, p := range params {
		dsn += "&" + p
	}
	return sql.Open("sqlite", dsn)
}

// prepareSource makes the source database at path with rows customers,
// unless it is there already. It writes a temporary file and renames it,
// so that a run stopped half-way leaves no half-made source behind.
func prepareSource(ctx context.Context, path string, rows int64) (generated bool, err error) {
	if _, err := os.Stat(path); err == nil {
		db, err := open(path, "_pragma=query_only(1)")
		if err != nil {
			return false, err
		}
		defer db.Close()
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM customers").Scan(&n); err != nil {
			return false, fmt.Errorf("source %s: %w", path, err)
		}
		if n != rows {
			return false, fmt.Errorf("source %s has %d rows, -rows says %d: remove it or pass -rows %d", path, n, rows, n)
		}
		return false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	tmp := path + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	if err := generate(ctx, tmp, rows); err != nil {
		os.Remove(tmp)
		return false, err
	}
	return true, os.Rename(tmp, path)
}

func generate(ctx context.Context, path string, rows int64) error {
	db, err := open(path, "_pragma=journal_mode(OFF)", "_pragma=synchronous(OFF)")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE customers (
		id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
		balance_cents INTEGER NOT NULL, created INTEGER NOT NULL)`); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, "INSERT INTO customers VALUES (?, ?, ?, ?, ?)")
	if err != nil {
		return err
	}
	for id := int64(1); id <= rows; id++ {
		c := customer(id)
		if _, err := ins.ExecContext(ctx, c.ID, c.Name, c.Email, c.BalanceCents, c.Created); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// readChunk reads the source rows with lo ≤ id < hi and transforms them.
func readChunk(ctx context.Context, src string, lo, hi int64) ([]Account, error) {
	db, err := open(src, "_pragma=query_only(1)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT id, name, email, balance_cents, created FROM customers WHERE id >= ? AND id < ? ORDER BY id", lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]Account, 0, hi-lo)
	for rows.Next() {
		var c Customer
		if err := rows.Scan(&c.ID, &c.Name, &c.Email, &c.BalanceCents, &c.Created); err != nil {
			return nil, err
		}
		out = append(out, transform(c))
	}
	return out, rows.Err()
}

// accountsTable is the migrated table's schema, in dst and in shards.
const accountsTable = `CREATE TABLE IF NOT EXISTS accounts (
	id INTEGER PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL,
	email TEXT NOT NULL, domain TEXT NOT NULL, email_hash TEXT NOT NULL,
	balance TEXT NOT NULL, created TEXT NOT NULL)`

// insertBatch is how many rows one INSERT statement writes: fewer
// statements cost less than one per row (8 parameters a row, well under
// SQLite's limit of 32,766).
const insertBatch = 100

// insertSQL returns an INSERT into accounts of n rows.
func insertSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO accounts VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?)")
	}
	return b.String()
}

// insertAccounts writes as into the accounts table through tx.
func insertAccounts(ctx context.Context, tx *sql.Tx, as []Account) error {
	full, err := tx.PrepareContext(ctx, insertSQL(insertBatch))
	if err != nil {
		return err
	}
	defer full.Close()
	args := make([]any, 0, 8*insertBatch)
	for len(as) > 0 {
		n := min(len(as), insertBatch)
		args = args[:0]
		for i := range n {
			a := &as[i]
			args = append(args, a.ID, a.FirstName, a.LastName, a.Email, a.Domain, a.EmailHash, a.Balance, a.Created)
		}
		stmt := full
		if n < insertBatch {
			if stmt, err = tx.PrepareContext(ctx, insertSQL(n)); err != nil {
				return err
			}
			defer stmt.Close()
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("rows %d to %d: %w", as[0].ID, as[n-1].ID, err)
		}
		as = as[n:]
	}
	return nil
}

// readAccounts reads the accounts with lo ≤ id < hi from dst.
func readAccounts(ctx context.Context, dst string, lo, hi int64) ([]Account, error) {
	db, err := open(dst, "_pragma=query_only(1)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT id, first_name, last_name, email, domain, email_hash, balance, created FROM accounts WHERE id >= ? AND id < ?", lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		var a Account
		if err := rows.Scan(&a.ID, &a.FirstName, &a.LastName, &a.Email, &a.Domain, &a.EmailHash, &a.Balance, &a.Created); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
