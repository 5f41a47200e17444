package cluster

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/singleflight"

	"github.com/par-project/par/internal/wire"
)

// ObjectsBucket is the JetStream object store where par keeps values too
// large for a message: shared inputs stored with Put, and the inputs and
// results larger than the server's max payload, which par stores there
// by itself. Objects are named by the hex SHA-256 of their CBOR encoding.
const ObjectsBucket = "PAR_OBJECTS"

var (
	// ErrObjectNotFound is wrapped by the error of Ref.Get, and of a job
	// whose large input or result was stored in the object store, when
	// the object is not there: it expired (Settings.ObjectsMaxAge) or was
	// never stored on this cluster. The error names the object's hash.
	ErrObjectNotFound = errors.New("cluster: object not in the object store " + ObjectsBucket)
	// ErrObjectStoreFull is wrapped by the error of Put, and of a job
	// whose large input or result could not be stored, when the object
	// store holds Settings.MaxObjectStoreBytes already.
	ErrObjectStoreFull = errors.New("cluster: the object store " + ObjectsBucket + " is full")
)

// DefaultObjectCache is how many bytes of fetched objects a worker keeps
// in memory unless told otherwise (ObjectCache).
const DefaultObjectCache = 512 << 20

// A Ref is a reference to a value of type T stored once in the cluster's
// object store by Put. It is small and CBOR-encodable, so jobs carry it in
// their inputs instead of the value: each worker fetches the value once,
// on the first Get, and keeps it for the jobs that follow (joblib's
// memmapping, Ray's object store). The zero Ref refers to nothing.
type Ref[T any] struct {
	// Hash is the hex SHA-256 of the value's CBOR encoding: the object's
	// name in the store.
	Hash string `cbor:"1,keyasint,omitempty" json:"hash"`
	// Size is the length of the value's CBOR encoding, in bytes.
	Size int64 `cbor:"2,keyasint,omitempty" json:"size"`
}

// String returns "sha256:<hash> (<size> bytes)".
func (r Ref[T]) String() string {
	return fmt.Sprintf("sha256:%s (%d bytes)", r.Hash, r.Size)
}

// Put stores v once in the object store of the cluster c is connected to,
// and returns a reference to it for jobs to carry. A value already stored
// is not sent again (unless it was stored more than half of
// Settings.ObjectsMaxAge ago: Put then stores it again, so that it stays
// at least that long). Objects are deleted ObjectsMaxAge (24h by default)
// after they were stored; a Ref is good until then.
//
// A value whose encoding is larger than the store
// (Settings.MaxObjectStoreBytes, 4 GiB by default) fails with ErrTooLarge;
// a store too full to take it, with ErrObjectStoreFull. Put keeps v's
// encoding in memory while it runs.
func Put[T any](ctx context.Context, c *Client, v T) (Ref[T], error) {
	data, err := wire.Marshal(v)
	if err != nil {
		return Ref[T]{}, fmt.Errorf("cluster: Put: %w", err)
	}
	hash, err := putObject(ctx, c.js, data)
	if err != nil {
		return Ref[T]{}, err
	}
	return Ref[T]{Hash: hash, Size: int64(len(data))}, nil
}

// Get returns the value r refers to. ctx must be a job's context on a
// cluster worker (or come from Client.Objects): the worker fetches the
// value from the object store on the first Get of each Ref and keeps it,
// decoded, in a cache bounded by ObjectCache; jobs that ask for it while
// it is being fetched wait for that one fetch. Every job gets the same
// value, so jobs must not modify it (copy it first).
//
// A value that is not in the store fails with an error wrapping
// ErrObjectNotFound and naming its hash.
func (r Ref[T]) Get(ctx context.Context) (T, error) {
	var zero T
	oc, _ := ctx.Value(objectsKey{}).(*objectCache)
	if oc == nil {
		return zero, fmt.Errorf("cluster: Ref.Get of %s: no object store in the context: call it with the context of a job on a cluster worker, or one from Client.Objects", r)
	}
	v, err := oc.get(ctx, r.Hash, r.Size, reflect.TypeFor[T](), func(data []byte) (any, error) {
		var v T
		if err := wire.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("cluster: decoding object %s as %T: %w", r.Hash, v, err)
		}
		return v, nil
	})
	if err != nil {
		return zero, err
	}
	return v.(T), nil
}

// Objects returns a context in which Ref.Get fetches values from the
// object store c is connected to, so that code meant for workers runs on
// the driver too. Values fetched through it are kept, up to
// DefaultObjectCache bytes, as long as the context is used.
func (c *Client) Objects(ctx context.Context) context.Context {
	return context.WithValue(ctx, objectsKey{}, newObjectCache(c.js, DefaultObjectCache))
}

type objectsKey struct{}

// checkHash reports whether h names an object: 64 lowercase hex digits.
func checkHash(h string) error {
	if len(h) != 2*sha256.Size || strings.Trim(h, "0123456789abcdef") != "" {
		return fmt.Errorf("cluster: %q is not the hex SHA-256 of an object", h)
	}
	return nil
}

// transferTime bounds the time to store or fetch size bytes: long enough
// for a slow link, short enough that a stalled transfer (an object whose
// parts expired while it was read) ends in an error, not a hang.
func transferTime(size int64) time.Duration {
	return 30*time.Second + time.Duration(min(max(size, 0), 1<<40)/(1<<20))*time.Second
}

// objectStore returns the object store bucket, creating it with s if it
// is missing (see Setup).
func objectStore(ctx context.Context, js jetstream.JetStream) (jetstream.ObjectStore, error) {
	obs, err := js.ObjectStore(ctx, ObjectsBucket)
	if err != nil {
		return nil, fmt.Errorf("cluster: object store %s: %w", ObjectsBucket, err)
	}
	return obs, nil
}

// ensureObjects creates the object store bucket if it is missing, with
// the replicas of par's other buckets, bounded by s.MaxObjectStoreBytes,
// its objects expiring after s.ObjectsMaxAge.
func ensureObjects(ctx context.Context, js jetstream.JetStream, s Settings) error {
	_, err := js.ObjectStore(ctx, ObjectsBucket)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("cluster: looking up object store %s: %w", ObjectsBucket, err)
	}
	cfg := jetstream.ObjectStoreConfig{
		Bucket:      ObjectsBucket,
		Description: "par: large values shared by jobs (cluster.Put), and inputs and results too large for a message",
		TTL:         s.ObjectsMaxAge,
		MaxBytes:    s.MaxObjectStoreBytes,
		Storage:     jetstream.FileStorage,
		Replicas:    s.Replicas,
	}
	_, err = js.CreateObjectStore(ctx, cfg)
	if err != nil && cfg.Replicas > 1 && tooFewServers(err) {
		cfg.Replicas = 1
		_, err = js.CreateObjectStore(ctx, cfg)
	}
	if err != nil && !errors.Is(err, jetstream.ErrBucketExists) && !isAlreadyInUse(err) {
		return fmt.Errorf("cluster: creating object store %s: %w", ObjectsBucket, err)
	}
	return nil
}

// putObject stores data, already CBOR, under its hash, unless it is
// stored already and young enough, and returns the hash.
func putObject(ctx context.Context, js jetstream.JetStream, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	obs, err := objectStore(ctx, js)
	if err != nil {
		return "", err
	}
	st, err := obs.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("cluster: object store %s: %w", ObjectsBucket, err)
	}
	var maxBytes int64
	if bs, ok := st.(*jetstream.ObjectBucketStatus); ok {
		maxBytes = bs.StreamInfo().Config.MaxBytes
	}
	if maxBytes > 0 && int64(len(data)) > maxBytes {
		return "", fmt.Errorf("%w: value of %d bytes; the object store %s takes up to %d bytes (Settings.MaxObjectStoreBytes)",
			ErrTooLarge, len(data), ObjectsBucket, maxBytes)
	}
	if info, err := obs.GetInfo(ctx, hash); err == nil && !info.Deleted && info.Size == uint64(len(data)) &&
		(st.TTL() <= 0 || time.Since(info.ModTime) < st.TTL()/2) {
		return hash, nil
	}
	pctx, cancel := context.WithTimeout(ctx, transferTime(int64(len(data))))
	defer cancel()
	if _, err := obs.Put(pctx, jetstream.ObjectMeta{Name: hash}, bytes.NewReader(data)); err != nil {
		if strings.Contains(err.Error(), "maximum bytes") || strings.Contains(err.Error(), "resource limits") {
			return "", fmt.Errorf("%w (Settings.MaxObjectStoreBytes; objects expire after Settings.ObjectsMaxAge): storing %d bytes: %v",
				ErrObjectStoreFull, len(data), err)
		}
		return "", fmt.Errorf("cluster: storing object %s (%d bytes): %w", hash, len(data), err)
	}
	return hash, nil
}

// objectStored reports whether the object hash is in the store.
func objectStored(ctx context.Context, js jetstream.JetStream, hash string) bool {
	obs, err := objectStore(ctx, js)
	if err != nil {
		return false
	}
	info, err := obs.GetInfo(ctx, hash)
	return err == nil && !info.Deleted
}

// fetchObject reads the object hash, of size bytes when size > 0, from
// the store, and checks it against its hash.
func fetchObject(ctx context.Context, js jetstream.JetStream, hash string, size int64) ([]byte, error) {
	if err := checkHash(hash); err != nil {
		return nil, err
	}
	obs, err := objectStore(ctx, js)
	if err != nil {
		return nil, err
	}
	var data []byte
	for range 2 {
		// A second try when the first fails other than for a missing
		// object: a Put that refreshed the object while it was read
		// replaced the parts being read, and the reader waited for them
		// until its deadline.
		tctx, cancel := context.WithTimeout(ctx, transferTime(size))
		data, err = obs.GetBytes(tctx, hash)
		cancel()
		if err == nil || errors.Is(err, jetstream.ErrObjectNotFound) || ctx.Err() != nil {
			break
		}
	}
	switch {
	case errors.Is(err, jetstream.ErrObjectNotFound):
		return nil, fmt.Errorf("%w: sha256:%s (it expired after Settings.ObjectsMaxAge, or was never stored here)", ErrObjectNotFound, hash)
	case err != nil:
		return nil, fmt.Errorf("cluster: fetching object sha256:%s: %w", hash, err)
	case size > 0 && int64(len(data)) != size:
		return nil, fmt.Errorf("cluster: object sha256:%s has %d bytes, its reference says %d", hash, len(data), size)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != hash {
		return nil, fmt.Errorf("cluster: object sha256:%s does not match its hash", hash)
	}
	return data, nil
}

// objectCache is a worker's cache of values fetched from the object
// store, decoded, least recently used first out, bounded by the size of
// their encodings.
type objectCache struct {
	js  jetstream.JetStream
	max int64
	sf  singleflight.Group

	fetched      atomic.Int64 // objects fetched from the store
	fetchedBytes atomic.Int64

	mu    sync.Mutex
	lru   list.List // of *cached, most recent first
	items map[string]*list.Element
	size  int64
	types map[reflect.Type]int // an id for each type values are decoded as
}

type cached struct {
	key  string
	size int64
	v    any
}

func newObjectCache(js jetstream.JetStream, max int64) *objectCache {
	return &objectCache{js: js, max: max, items: map[string]*list.Element{}, types: map[reflect.Type]int{}}
}

// get returns the value of the object hash decoded as typ, from the cache
// or else fetched once however many jobs ask at once.
func (oc *objectCache) get(ctx context.Context, hash string, size int64, typ reflect.Type, decode func([]byte) (any, error)) (any, error) {
	oc.mu.Lock()
	id, ok := oc.types[typ]
	if !ok {
		id = len(oc.types)
		oc.types[typ] = id
	}
	// Type names are not unique (two packages may each have a Config):
	// the key holds the type's id.
	key := hash + " " + strconv.Itoa(id)
	if e, ok := oc.items[key]; ok {
		oc.lru.MoveToFront(e)
		oc.mu.Unlock()
		return e.Value.(*cached).v, nil
	}
	oc.mu.Unlock()
	// One job giving up does not fail the others waiting for the fetch.
	ch := oc.sf.DoChan(key, func() (any, error) {
		data, err := oc.fetch(context.WithoutCancel(ctx), hash, size)
		if err != nil {
			return nil, err
		}
		v, err := decode(data)
		if err != nil {
			return nil, err
		}
		oc.add(key, int64(len(data)), v)
		return v, nil
	})
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func (oc *objectCache) fetch(ctx context.Context, hash string, size int64) ([]byte, error) {
	data, err := fetchObject(ctx, oc.js, hash, size)
	if err == nil {
		oc.fetched.Add(1)
		oc.fetchedBytes.Add(int64(len(data)))
	}
	return data, err
}

// add keeps v, evicting the least recently used values beyond the bound.
// A value larger than the whole cache is not kept.
func (oc *objectCache) add(key string, size int64, v any) {
	if size > oc.max {
		return
	}
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if _, ok := oc.items[key]; ok {
		return
	}
	oc.items[key] = oc.lru.PushFront(&cached{key: key, size: size, v: v})
	oc.size += size
	for oc.size > oc.max {
		e := oc.lru.Back()
		c := e.Value.(*cached)
		oc.lru.Remove(e)
		delete(oc.items, c.key)
		oc.size -= c.size
	}
}

// Large payloads. An input or result too large for a message travels as
// a reference to an object instead: a CBOR item tagged bigTag, which no
// value of a user can start with, since par's encoding refuses tags.

// bigTag is the CBOR tag of a reference to a large payload, "par" and 1.
const bigTag = 0x70617201

// bigHead is the head of an item tagged bigTag: major type 6, 4-byte tag.
var bigHead = binary.BigEndian.AppendUint32([]byte{0xda}, bigTag)

// bigRef is what a large payload's reference holds.
type bigRef struct {
	Hash string `cbor:"1,keyasint,omitempty"`
	Size int64  `cbor:"2,keyasint,omitempty"`
}

// isBig reports whether the encoded value data is a reference to a large
// payload.
func isBig(data []byte) bool { return bytes.HasPrefix(data, bigHead) }

// parseBig decodes the reference data, which isBig.
func parseBig(data []byte) (bigRef, error) {
	var r bigRef
	if !isBig(data) {
		return r, fmt.Errorf("cluster: not a reference to a large payload")
	}
	if err := wire.Unmarshal(data[len(bigHead):], &r); err != nil {
		return r, fmt.Errorf("cluster: reference to a large payload: %w", err)
	}
	if err := checkHash(r.Hash); err != nil {
		return r, err
	}
	if r.Size <= 0 {
		return r, fmt.Errorf("cluster: reference to a large payload of %d bytes", r.Size)
	}
	return r, nil
}

// storeBig stores the encoded value data in the object store and returns
// the reference to send in its place.
func storeBig(ctx context.Context, js jetstream.JetStream, data []byte) ([]byte, error) {
	hash, err := putObject(ctx, js, data)
	if err != nil {
		return nil, err
	}
	ref, err := wire.Marshal(bigRef{Hash: hash, Size: int64(len(data))})
	if err != nil {
		return nil, err
	}
	return append(bytes.Clone(bigHead), ref...), nil
}

// loadBig returns the value the reference data refers to.
func loadBig(ctx context.Context, js jetstream.JetStream, data []byte) ([]byte, error) {
	r, err := parseBig(data)
	if err != nil {
		return nil, err
	}
	return fetchObject(ctx, js, r.Hash, r.Size)
}

// ObjectCache bounds the memory a worker gives to values fetched with
// Ref.Get, counted as the size of their encodings: past it, the least
// recently used are dropped (and fetched again when asked for). A value
// larger than the bound is fetched for every Get. Default
// DefaultObjectCache. Worker side only.
func ObjectCache(bytes int64) Option {
	return func(c *config) error {
		if bytes <= 0 {
			return invalid("ObjectCache must be positive, got %d", bytes)
		}
		c.objectCache = bytes
		return nil
	}
}
