package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/par-project/par/internal/testio"

	"go.uber.org/goleak"

	"github.com/par-project/par"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// xssText is the error text of job 7 of checkTask: the dashboard must show
// it as text, never run it.
const xssText = "<script>alert(1)</script>"

// checkTask doubles x, and fails job 7 with xssText.
var checkTask = par.Register("par-cmd-test.check", func(_ context.Context, x int) (int, error) {
	if x == 7 {
		return 0, errors.New(xssText)
	}
	return 2 * x, nil
})

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// eventually calls f every 20ms until it returns nil or ctx ends, and
// returns f's last error then.
func eventually(ctx context.Context, f func() error) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-t.C:
		}
	}
}

// parServer is a par server run in process by the par command.
type parServer struct {
	url       string // NATS URL
	dashboard string // the dashboard's base URL, "" without --http
	stderr    *testio.Buffer
}

// startServer runs par server with args on a free loopback port, and
// stops it when the test ends, checking that it exits 0.
func startServer(t *testing.T, args ...string) *parServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &parServer{stderr: &testio.Buffer{}}
	code := make(chan int, 1)
	go func() {
		defer pw.Close()
		code <- run(ctx, append([]string{"server", "--data", t.TempDir(), "--listen", "127.0.0.1:0"}, args...),
			strings.NewReader(""), pw, s.stderr)
	}()
	var drain sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		pr.Close() // nothing the server still writes can block it
		if c := <-code; c != 0 {
			t.Errorf("par server exited %d: %s", c, s.stderr.String())
		}
		drain.Wait()
	})
	out := bufio.NewReader(pr)
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("par server printed no URL: %v; stderr: %s", err, s.stderr.String())
	}
	s.url = strings.TrimSpace(line)
	for _, a := range args {
		if a == "--http" {
			line, err := out.ReadString('\n')
			base, ok := strings.CutPrefix(strings.TrimSpace(line), "dashboard: ")
			if err != nil || !ok {
				t.Fatalf("par server printed %q, %v; want the dashboard's address", line, err)
			}
			s.dashboard = strings.TrimSuffix(base, "/")
		}
	}
	drain.Go(func() { _, _ = io.Copy(io.Discard, out) })
	return s
}

// get fetches url with the header pairs hdr, and returns the response and
// its body.
func get(t *testing.T, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
