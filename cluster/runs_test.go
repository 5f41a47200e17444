package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/par-project/par/internal/testio"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
	"github.com/par-project/par/partest"
)

// envDriver makes the test binary a driver of a durable run, as described
// by the driverSpec it holds in JSON: how the tests kill a driver.
const envDriver = "PAR_CLUSTER_TEST_DRIVER"

type driverSpec struct {
	URL   string
	Run   string
	File  string // where appendTask writes its job indexes
	N     int
	Slots int
}

// appendIn is appendTask's input: a job index and the file it appends it to.
type appendIn struct {
	I    int
	File string
}

// appendTask appends its job's index to a file: the side effect that shows
// which jobs ran, and how often.
var appendTask = par.Register("cluster-test.append", func(_ context.Context, in appendIn) (int, error) {
	time.Sleep(5 * time.Millisecond)
	f, err := os.OpenFile(in.File, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "%d\n", in.I)
	return in.I, err
})

func driverMain(js string) int {
	var spec driverSpec
	if err := json.Unmarshal([]byte(js), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "driver:", err)
		return 2
	}
	c, err := cluster.Connect(spec.URL, cluster.Slots(spec.Slots))
	if err != nil {
		fmt.Fprintln(os.Stderr, "driver:", err)
		return 1
	}
	defer c.Close()
	ins := make([]appendIn, spec.N)
	for i := range ins {
		ins[i] = appendIn{I: i, File: spec.File}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := par.Map(ctx, ins, appendTask.Func(), par.On(c.Run(spec.Run)), par.BatchSize(1))
	if err != nil {
		fmt.Fprintln(os.Stderr, "driver:", err)
		return 1
	}
	for i, y := range out {
		if y != i {
			fmt.Fprintf(os.Stderr, "driver: result %d is %d\n", i, y)
			return 1
		}
	}
	fmt.Printf("ok %d\n", len(out))
	return 0
}

// lineCounts counts how often each job index was appended to file.
func lineCounts(t *testing.T, file string) map[int]int {
	data, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	counts := map[int]int{}
	for _, l := range strings.Fields(string(data)) {
		i, err := strconv.Atoi(l)
		if err != nil {
			t.Fatalf("%s: line %q", file, l)
		}
		counts[i]++
	}
	return counts
}

// TestDurableRunSurvivesDriverKill kills a durable run's driver with
// SIGKILL mid-run and runs it again with the same name: the run completes,
// and only the jobs in flight at the kill ran twice.
func TestDurableRunSurvivesDriverKill(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 2, cluster.Jobs(2))
	ctx := testCtx(t)
	const n, slots = 300, 4
	spec := driverSpec{URL: url, Run: "nightly-2026-11-25", File: t.TempDir() + "/ran", N: n, Slots: slots}
	enc, _ := json.Marshal(spec)
	driver := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envDriver+"="+string(enc))
		return cmd
	}
	first := driver()
	var firstErr testio.Buffer
	first.Stderr = &firstErr
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once a third of the jobs ran.
	for len(lineCounts(t, spec.File)) < n/3 {
		select {
		case <-ctx.Done():
			_ = first.Process.Kill()
			t.Fatalf("a third of the jobs did not run: %v; driver stderr:\n%s", ctx.Err(), firstErr.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	_ = first.Process.Signal(syscall.SIGKILL)
	_ = first.Wait()
	atKill := len(lineCounts(t, spec.File))

	second := driver()
	var out, errOut bytes.Buffer
	second.Stdout, second.Stderr = &out, &errOut
	if err := second.Run(); err != nil || strings.TrimSpace(out.String()) != fmt.Sprintf("ok %d", n) {
		t.Fatalf("second driver: %v, %q; stderr:\n%s", err, out.String(), errOut.String())
	}
	counts := lineCounts(t, spec.File)
	twice := 0
	for i := range n {
		switch c := counts[i]; {
		case c == 0:
			t.Errorf("job %d never ran", i)
		case c > 1:
			twice++
		}
	}
	t.Logf("%d jobs ran before the kill, %d ran twice", atKill, twice)
	if twice > slots {
		t.Errorf("%d jobs ran twice; at most the %d in flight at the kill may", twice, slots)
	}

	c := connect(t, url)
	runs, err := c.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Name != spec.Run || runs[0].State != "finished" || runs[0].Done != n ||
		runs[0].Failed != 0 || runs[0].Pending != 0 || runs[0].Expires.IsZero() {
		t.Fatalf("runs: %+v, want %s finished with %d done", runs, spec.Run, n)
	}
	cs, err := c.ClusterStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	cs.Print(&text)
	if cs.Mode != "standalone" || cs.Replicas != 1 || len(cs.Runs) != 1 ||
		!strings.Contains(text.String(), "SERVER: standalone") || !strings.Contains(text.String(), spec.Run+"  finished  300") {
		t.Fatalf("cluster status: %+v\n%s", cs, text.String())
	}
}

// countTask counts its runs in this process.
var (
	countRuns atomic.Int64
	countTask = par.Register("cluster-test.count", func(_ context.Context, x int) (int, error) {
		countRuns.Add(1)
		if x < 0 {
			return 0, fmt.Errorf("negative: %d", x)
		}
		return 2 * x, nil
	})
)

// TestDurableRunReusesResults runs a durable run again, its inputs in
// another order: nothing runs again but the job that failed, and every
// result is right.
func TestDurableRunReusesResults(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 2)
	c := connect(t, url)
	ctx := testCtx(t)
	xs := []int{1, 2, 3, -4, 5, 6, 7, 8}
	countRuns.Store(0)
	_, err := par.Map(ctx, xs, countTask.Func(), par.On(c.Run("again")), par.CollectErrors())
	if err == nil || !strings.Contains(err.Error(), "negative: -4") {
		t.Fatalf("first run: %v, want job -4's error", err)
	}
	if got := countRuns.Load(); got != int64(len(xs)) {
		t.Fatalf("first run ran %d jobs, want %d", got, len(xs))
	}
	xs[3] = 4 // fixed
	slices.Reverse(xs)
	countRuns.Store(0)
	out, err := par.Map(ctx, xs, countTask.Func(), par.On(c.Run("again")))
	if err != nil {
		t.Fatal(err)
	}
	for i, y := range out {
		if y != 2*xs[i] {
			t.Fatalf("out[%d] = %d, want %d", i, y, 2*xs[i])
		}
	}
	if got := countRuns.Load(); got != 1 {
		t.Fatalf("second run ran %d jobs, want only the one that had failed", got)
	}
	if _, err := par.Map(ctx, xs, countTask.Func(), par.On(c.Run("bad.name"))); !errorsIsInvalid(err) {
		t.Fatalf("run name with a dot: %v, want ErrInvalidOption", err)
	}
}

// TestDurableRunExpires deletes a finished run's results once
// KeepFinished has passed.
func TestDurableRunExpires(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 1)
	c := connect(t, url, cluster.KeepFinished(time.Nanosecond))
	ctx := testCtx(t)
	if _, err := par.Map(ctx, []int{1, 2, 3}, countTask.Func(), par.On(c.Run("short"))); err != nil {
		t.Fatal(err)
	}
	if stored := storedResults(t, ctx, url, "short"); stored == 0 {
		t.Fatal("a finished durable run's results are not stored")
	}
	runs, err := c.Runs(ctx)
	if err != nil || len(runs) != 0 {
		t.Fatalf("runs after expiry: %+v, %v; want none", runs, err)
	}
	if stored := storedResults(t, ctx, url, "short"); stored != 0 {
		t.Fatalf("%d results messages left after expiry", stored)
	}
}

func storedResults(t *testing.T, ctx context.Context, url, run string) uint64 {
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, cluster.ResultsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter("par.results."+run))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects["par.results."+run]
}

func errorsIsInvalid(err error) bool {
	return err != nil && strings.Contains(err.Error(), "invalid option")
}

// gateTask returns its input once the channel in gate is closed, after
// saying it started: jobs that keep a run going as long as a test wants.
var (
	gate        atomic.Pointer[chan struct{}]
	gateStarted = make(chan struct{}, 100)
	gateTask    = par.Register("cluster-test.gate", func(ctx context.Context, x int) (int, error) {
		gateStarted <- struct{}{}
		select {
		case <-*gate.Load():
			return x, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
)

// drainGate forgets the starts of gateTask's jobs that no test waited for.
func drainGate() {
	for len(gateStarted) > 0 {
		<-gateStarted
	}
}

// TestDurableRunOneDriverAtATime runs a durable run's name from a second
// driver while the first runs it: the second fails with ErrRunInUse and
// the first goes on; once the first finished, the second takes the run
// and finds its results. A driver whose run another took over (here, a
// record written over its own, as a driver does after the holder went
// silent for the lease) fails with ErrRunInUse.
func TestDurableRunOneDriverAtATime(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 1, cluster.Jobs(2))
	ctx := testCtx(t)
	first, second := connect(t, url), connect(t, url)
	started := func() {
		t.Helper()
		select {
		case <-gateStarted:
		case <-ctx.Done():
			t.Fatal("the first driver's jobs did not start")
		}
	}
	mapOn := func(c *cluster.Client, run string, done chan<- error) {
		_, err := par.Map(ctx, []int{1, 2}, gateTask.Func(), par.On(c.Run(run)), par.BatchSize(1))
		done <- err
	}

	drainGate()
	open := make(chan struct{})
	gate.Store(&open)
	done := make(chan error, 1)
	go mapOn(first, "one", done)
	started()
	out, err := par.Map(ctx, []int{1, 2}, gateTask.Func(), par.On(second.Run("one")))
	if !errors.Is(err, cluster.ErrRunInUse) {
		t.Fatalf("a second driver of a running run: %v, %v; want ErrRunInUse", out, err)
	}
	close(open)
	if err := <-done; err != nil {
		t.Fatalf("the first driver: %v", err)
	}
	before := len(gateStarted)
	out, err = par.Map(ctx, []int{2, 1}, gateTask.Func(), par.On(second.Run("one")))
	if err != nil || !slices.Equal(out, []int{2, 1}) || len(gateStarted) != before {
		t.Fatalf("the run again once the first driver finished: %v, %v, %d jobs ran again; want [2 1] from the stored results",
			out, err, len(gateStarted)-before)
	}

	drainGate()
	open = make(chan struct{})
	gate.Store(&open)
	go mapOn(first, "two", done)
	started()
	js, err := jetstream.New(second.Conn())
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, cluster.RunsBucket)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := json.Marshal(cluster.RunInfo{Name: "two", State: "running", Driver: "another", Started: time.Now(), Updated: time.Now()})
	if _, err := kv.Put(ctx, "two", rec); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, cluster.ErrRunInUse) {
		t.Fatalf("a driver whose run was taken over: %v, want ErrRunInUse", err)
	}
	close(open)
}
