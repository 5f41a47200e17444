package cluster_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
	"github.com/par-project/par/partest"
)

// sharedJob is a job that reads one byte of a shared value.
type sharedJob struct {
	Ref cluster.Ref[[]byte]
	At  int
}

type sharedOut struct {
	PID  int
	Len  int
	Byte byte
}

var sharedTask = par.Register("cluster-test.shared", func(ctx context.Context, j sharedJob) (sharedOut, error) {
	v, err := j.Ref.Get(ctx)
	if err != nil {
		return sharedOut{}, err
	}
	return sharedOut{PID: os.Getpid(), Len: len(v), Byte: v[j.At]}, nil
})

// pattern returns n bytes that differ from one offset to the next, so a
// wrong or shifted value shows.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// sharedSize is the size of the shared input of TestPutSharedInput: the
// 50 MB the issue names.
const sharedSize = 50 << 20

// TestPutSharedInput stores 50 MB once and runs 1,000 jobs that read it
// on 3 worker processes: each worker fetches it at most once.
func TestPutSharedInput(t *testing.T) {
	// Heartbeats every second; a batch that waits for the first fetch
	// under -race is not taken for lost.
	url := partest.StartServerWith(t, cluster.ServerConfig{Settings: cluster.Settings{WorkerTTL: 3 * time.Second, AckWait: 10 * time.Second}})
	var pids = map[int]bool{}
	for range 3 {
		w := startWorkerProc(t, url, 2)
		pids[w.cmd.Process.Pid] = true
	}
	c := connect(t, url)
	ctx := testCtx(t)

	value := pattern(sharedSize)
	t0 := time.Now()
	ref, err := cluster.Put(ctx, c, value)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("put %d bytes in %v", ref.Size, time.Since(t0))
	if ref.Size < sharedSize || len(ref.Hash) != 64 {
		t.Fatalf("ref %v", ref)
	}
	// A second Put of the same value sends nothing and gives the same ref.
	if again, err := cluster.Put(ctx, c, value); err != nil || again != ref {
		t.Fatalf("second Put: %v, %v; want %v", again, err, ref)
	}

	const n = 1000
	jobs := make([]sharedJob, n)
	for i := range jobs {
		jobs[i] = sharedJob{Ref: ref, At: (i * 52361) % sharedSize}
	}
	t0 = time.Now()
	// Batches of 10 spread the jobs over every slot, so that the two
	// slots of a worker ask for the value at once.
	outs, err := par.Map(ctx, jobs, sharedTask.Func(), par.On(c), par.BatchSize(10))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d jobs in %v", n, time.Since(t0))
	ran := map[int]int{}
	for i, o := range outs {
		if o.Len != sharedSize || o.Byte != value[jobs[i].At] {
			t.Fatalf("job %d: %+v, want %d bytes and byte %d", i, o, sharedSize, value[jobs[i].At])
		}
		if !pids[o.PID] {
			t.Fatalf("job %d ran in process %d, not a worker", i, o.PID)
		}
		ran[o.PID]++
	}

	// Each worker lists what it fetched in its heartbeat: wait until the
	// heartbeats count every job (a batch may run twice), then read the
	// fetches.
	for {
		ws, err := c.Workers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		jobs, seen := int64(0), 0
		for _, w := range ws {
			if pids[w.PID] {
				jobs += w.Jobs
				seen++
			}
		}
		if seen == 3 && jobs >= n {
			for _, w := range ws {
				want := int64(0)
				if ran[w.PID] > 0 {
					want = 1
				}
				if w.ObjectsFetched != want || w.ObjectBytesFetched != want*ref.Size {
					t.Errorf("worker %d ran %d jobs and fetched %d objects, %d bytes; want %d, %d bytes",
						w.PID, ran[w.PID], w.ObjectsFetched, w.ObjectBytesFetched, want, want*ref.Size)
				}
			}
			t.Logf("jobs per worker process: %v", ran)
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("heartbeats count %d jobs of %d workers, want %d of 3", jobs, seen, n)
		case <-time.After(100 * time.Millisecond): // polling the heartbeats, which come every second
		}
	}
}

// TestLargePayloads sends inputs and results over the max payload through
// the object store, beside small ones in the same batch.
func TestLargePayloads(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 2)
	c := connect(t, url)
	ctx := testCtx(t)
	xs := [][]byte{[]byte("small"), pattern(3 << 20), []byte("small too"), append(pattern(2<<20), 1), pattern(100)}
	out, err := par.Map(ctx, xs, echoTask.Func(), par.On(c), par.BatchSize(len(xs)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range xs {
		if !bytes.Equal(out[i], xs[i]) {
			t.Errorf("job %d: %d bytes back, want the %d sent", i, len(out[i]), len(xs[i]))
		}
	}
	// A result over the max payload from a small input.
	blobs, err := par.Map(ctx, []int{5 << 20, 10}, blobTask.Func(), par.On(c))
	if err != nil || len(blobs[0]) != 5<<20 || len(blobs[1]) != 10 {
		t.Fatalf("blobs of 5 MiB and 10 bytes: %d and %d bytes, %v", len(blobs[0]), len(blobs[1]), err)
	}
	// A batch whose inputs, each under the max payload, are over it
	// together goes as several messages; so do results.
	xs = [][]byte{pattern(600 << 10), []byte("small"), pattern(700 << 10), pattern(500 << 10)}
	out, err = par.Map(ctx, xs, echoTask.Func(), par.On(c), par.BatchSize(len(xs)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range xs {
		if !bytes.Equal(out[i], xs[i]) {
			t.Errorf("job %d of a split batch: %d bytes back, want the %d sent", i, len(out[i]), len(xs[i]))
		}
	}
	sizes := []int{600 << 10, 3, 700 << 10, 0, 500 << 10}
	blobs, err = par.Map(ctx, sizes, blobTask.Func(), par.On(c), par.BatchSize(len(sizes)))
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range sizes {
		if len(blobs[i]) != n {
			t.Errorf("blob %d of results in several messages: %d bytes, want %d", i, len(blobs[i]), n)
		}
	}
}

// TestObjectMissing asks for objects that are not in the store: the error
// names the hash, at once.
func TestObjectMissing(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 1)
	c := connect(t, url)
	ctx := testCtx(t)

	sum := sha256.Sum256([]byte("never stored"))
	missing := cluster.Ref[[]byte]{Hash: hex.EncodeToString(sum[:]), Size: 14}
	_, err := par.Map(ctx, []sharedJob{{Ref: missing}}, sharedTask.Func(), par.On(c))
	if err == nil || !strings.Contains(err.Error(), missing.Hash) {
		t.Fatalf("job with a missing object: %v, want an error naming %s", err, missing.Hash)
	}

	// An object deleted from the store (as when it expires).
	ref, err := cluster.Put(ctx, c, pattern(1000))
	if err != nil {
		t.Fatal(err)
	}
	octx := c.Objects(ctx)
	if v, err := ref.Get(octx); err != nil || !bytes.Equal(v, pattern(1000)) {
		t.Fatalf("Get on the driver: %d bytes, %v", len(v), err)
	}
	deleteObject(t, url, ref.Hash)
	_, err = ref.Get(c.Objects(ctx))
	if !errors.Is(err, cluster.ErrObjectNotFound) || !strings.Contains(err.Error(), ref.Hash) {
		t.Fatalf("Get of a deleted object: %v, want ErrObjectNotFound naming %s", err, ref.Hash)
	}
	_, err = par.Map(ctx, []sharedJob{{Ref: ref}}, sharedTask.Func(), par.On(c))
	if err == nil || !strings.Contains(err.Error(), ref.Hash) {
		t.Fatalf("job with a deleted object: %v, want an error naming %s", err, ref.Hash)
	}

	// Bad references and contexts.
	if _, err := (cluster.Ref[int]{Hash: "zz"}).Get(octx); err == nil || !strings.Contains(err.Error(), `"zz"`) {
		t.Errorf("Get of hash zz: %v", err)
	}
	if _, err := ref.Get(ctx); err == nil || !strings.Contains(err.Error(), "no object store") {
		t.Errorf("Get outside a worker: %v", err)
	}
}

func deleteObject(t *testing.T, url, hash string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := testCtx(t)
	obs, err := js.ObjectStore(ctx, cluster.ObjectsBucket)
	if err != nil {
		t.Fatal(err)
	}
	if err := obs.Delete(ctx, hash); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkPutGet stores a new 50 MB value and fetches it back through
// Ref.Get, each iteration: the cost of sharing a large input, to which
// each worker adds one Get.
func BenchmarkPutGet(b *testing.B) {
	url := partest.StartServerWith(b, cluster.ServerConfig{DataDir: b.TempDir()}) // fsynced, as par server
	c := connect(b, url)
	ctx := context.Background()
	value := pattern(sharedSize)
	var put, get time.Duration
	for i := 0; b.Loop(); i++ {
		value[0] = byte(i) // a new value: Put stores it
		t0 := time.Now()
		ref, err := cluster.Put(ctx, c, value)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		v, err := ref.Get(c.Objects(ctx))
		if err != nil || len(v) != sharedSize {
			b.Fatalf("Get: %d bytes, %v", len(v), err)
		}
		put, get = put+t1.Sub(t0), get+time.Since(t1)
	}
	b.ReportMetric(put.Seconds()/float64(b.N), "s/put")
	b.ReportMetric(get.Seconds()/float64(b.N), "s/get")
	b.SetBytes(sharedSize)
}

// TestPutTooLarge: a value over the object store's bound fails with
// ErrTooLarge (TestOversizedPayload sends such inputs and results).
func TestPutTooLarge(t *testing.T) {
	url := partest.StartServerWith(t, cluster.ServerConfig{Settings: cluster.Settings{MaxObjectStoreBytes: 3 << 20}})
	c := connect(t, url)
	if _, err := cluster.Put(testCtx(t), c, make([]byte, 4<<20)); !errors.Is(err, cluster.ErrTooLarge) {
		t.Fatalf("Put of 4 MiB in a store of 3: %v, want ErrTooLarge", err)
	}
	// Two values of 2 MiB do not fit together.
	if _, err := cluster.Put(testCtx(t), c, pattern(2<<20)); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Put(testCtx(t), c, make([]byte, 2<<20)); !errors.Is(err, cluster.ErrObjectStoreFull) {
		t.Fatalf("Put of 2 MiB in a store of 3 holding 2: %v, want ErrObjectStoreFull", err)
	}
}

// TestLargeResultOfDurableRunExpired: a durable run run again whose stored
// large result expired runs its job again, rather than failing it.
func TestLargeResultOfDurableRunExpired(t *testing.T) {
	url := partest.StartServer(t)
	partest.StartWorkers(t, url, 1)
	c := connect(t, url)
	ctx := testCtx(t)
	run := func() {
		t.Helper()
		out, err := par.Map(ctx, []int{2 << 20, 5}, blobTask.Func(), par.On(c.Run("big-results")))
		if err != nil {
			t.Fatal(err)
		}
		if len(out[0]) != 2<<20 || len(out[1]) != 5 {
			t.Fatalf("results of %d and %d bytes, want 2 MiB and 5", len(out[0]), len(out[1]))
		}
	}
	run()
	// The result's object has the hash of its value, which Put gives.
	ref, err := cluster.Put(ctx, c, make([]byte, 2<<20))
	if err != nil {
		t.Fatal(err)
	}
	deleteObject(t, url, ref.Hash)
	run()
}

// TestObjectFlagsChecked: bad object store flags are refused with a clear
// error and exit code 2, before anything starts.
func TestObjectFlagsChecked(t *testing.T) {
	ctx := testCtx(t)
	var stderr strings.Builder
	if code := cluster.ServerMain(ctx, []string{"--data", t.TempDir(), "--listen", "127.0.0.1:0", "--objects-max-age", "-1h"}, io.Discard, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), "--objects-max-age") {
		t.Errorf("par server --objects-max-age -1h: exit %d, %q", code, stderr.String())
	}
	stderr.Reset()
	if code := cluster.WorkerMain(ctx, []string{"--connect", "nats://127.0.0.1:1", "--object-cache", "0"}, io.Discard, &stderr); code == 0 ||
		!strings.Contains(stderr.String(), "ObjectCache") {
		t.Errorf("par worker --object-cache 0: exit %d, %q", code, stderr.String())
	}
}
