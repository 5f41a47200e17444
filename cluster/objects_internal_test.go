package cluster

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"
)

// TestObjectCache: jobs asking for one value at once share one fetch, and
// the cache keeps the most recently used values within its bound.
func TestObjectCache(t *testing.T) {
	srv, err := NewServer(ServerConfig{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	c, err := Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	values := make([][]byte, 3)
	refs := make([]Ref[[]byte], 3)
	for i := range values {
		values[i] = bytes.Repeat([]byte{byte(i)}, 400<<10)
		if refs[i], err = Put(ctx, c, values[i]); err != nil {
			t.Fatal(err)
		}
	}
	oc := newObjectCache(c.js, 1<<20) // room for two of the three
	octx := context.WithValue(ctx, objectsKey{}, oc)

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			v, err := refs[0].Get(octx)
			if err == nil && !bytes.Equal(v, values[0]) {
				t.Error("Get returned another value")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := oc.fetched.Load(); n != 1 {
		t.Fatalf("20 concurrent Gets fetched %d times, want 1", n)
	}

	// 0 and 1 fit; 2 pushes out 0, the least recently used.
	for _, i := range []int{1, 0, 1, 2} {
		if _, err := refs[i].Get(octx); err != nil {
			t.Fatal(err)
		}
	}
	if n := oc.fetched.Load(); n != 3 {
		t.Fatalf("%d fetches after getting values 0, 1 and 2, want 3", n)
	}
	if _, err := refs[1].Get(octx); err != nil || oc.fetched.Load() != 3 {
		t.Fatalf("value 1, used recently, fetched again (%d fetches), %v", oc.fetched.Load(), err)
	}
	if _, err := refs[0].Get(octx); err != nil || oc.fetched.Load() != 4 {
		t.Fatalf("value 0, evicted, not fetched again (%d fetches), %v", oc.fetched.Load(), err)
	}
	// The cache keeps decoded values: another type needs a fetch of its
	// own, and a value that does not decode as it fails.
	_, err = (Ref[int]{Hash: refs[2].Hash, Size: refs[2].Size}).Get(octx)
	if err == nil || oc.fetched.Load() != 5 {
		t.Fatalf("value 2 as an int: %v after %d fetches, want a decoding error after 5", err, oc.fetched.Load())
	}
}
