package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Names of what par keeps in JetStream. Jobs of queue Q for run R are
// published on subject "par.jobs.Q.R", their results on "par.results.R",
// and a run's cancellation on the core NATS subject "par.cancel.R". Workers
// also send results on the core NATS subject "par.live.R", before storing
// them, so that the driver need not wait for the disk.
const (
	JobsStream    = "PAR_JOBS"    // work-queue stream of batches
	ResultsStream = "PAR_RESULTS" // results, one subject per run
	WorkersBucket = "PAR_WORKERS" // key-value bucket of live workers

	// DefaultQueue is the queue drivers and workers use unless told
	// otherwise.
	DefaultQueue = "default"

	jobsPrefix    = "par.jobs."
	resultsPrefix = "par.results."
	cancelPrefix  = "par.cancel."
	livePrefix    = "par.live."
)

// Settings are the JetStream parameters of a par cluster. They travel: the
// first of Setup's callers to create a stream or consumer fixes them, and
// later callers find them in place. The zero value asks for the defaults.
type Settings struct {
	// AckWait is how long a worker may hold a batch without a heartbeat
	// before JetStream hands it to another worker. Workers send a heartbeat
	// every AckWait/3 while a batch runs, so only a lost worker (killed,
	// partitioned, its machine gone) runs into it: a lost worker is
	// detected after AckWait, never sooner, because a disconnect alone
	// does not trigger redelivery. Default 30s.
	AckWait time.Duration `json:"ack_wait,omitempty"`
	// MaxDeliver bounds how often a batch is handed out. A batch handed
	// out for the MaxDeliver-th time is not run again: the worker that
	// gets it reports each of its jobs as a *par.WorkerLostError, so it
	// runs at most MaxDeliver-1 times. Default 5.
	MaxDeliver int `json:"max_deliver,omitempty"`
	// MaxAckPending bounds the batches handed out and not yet finished,
	// across all workers of a queue. Workers only pull what they can run,
	// so it is a safety bound. Default 4096.
	MaxAckPending int `json:"max_ack_pending,omitempty"`
	// MaxQueueBytes bounds the jobs waiting in the cluster. Past it a
	// driver's publish fails with ErrQueueFull: work is refused, never
	// silently dropped. Default 1 GiB.
	MaxQueueBytes int64 `json:"max_queue_bytes,omitempty"`
	// WorkerTTL is how long a worker stays listed as live after its last
	// heartbeat; workers send one every WorkerTTL/3. Default 15s.
	WorkerTTL time.Duration `json:"worker_ttl,omitempty"`
	// ResultsMaxAge bounds how long results are kept when their driver
	// did not clean them up. Default 24h.
	ResultsMaxAge time.Duration `json:"results_max_age,omitempty"`
	// Replicas is how many servers of a NATS cluster keep a copy of each
	// stream and bucket. 0 picks 3 when the cluster has 3 or more
	// servers, else 1 (see Setup).
	Replicas int `json:"replicas,omitempty"`
	// MaxObjectStoreBytes bounds the object store PAR_OBJECTS (values
	// stored with Put, and inputs and results over the max payload);
	// one value larger than it fails with ErrTooLarge, a store too full
	// to take one with ErrObjectStoreFull. Default 4 GiB.
	MaxObjectStoreBytes int64 `json:"max_object_store_bytes,omitempty"`
	// ObjectsMaxAge is how long an object stays in PAR_OBJECTS after it
	// was stored. Default 24h.
	ObjectsMaxAge time.Duration `json:"objects_max_age,omitempty"`
}

func (s Settings) withDefaults() Settings {
	if s.AckWait <= 0 {
		s.AckWait = 30 * time.Second
	}
	if s.MaxDeliver <= 0 {
		s.MaxDeliver = 5
	}
	if s.MaxAckPending <= 0 {
		s.MaxAckPending = 4096
	}
	if s.MaxQueueBytes <= 0 {
		s.MaxQueueBytes = 1 << 30
	}
	if s.WorkerTTL <= 0 {
		s.WorkerTTL = 15 * time.Second
	}
	if s.ResultsMaxAge <= 0 {
		s.ResultsMaxAge = 24 * time.Hour
	}
	if s.MaxObjectStoreBytes <= 0 {
		s.MaxObjectStoreBytes = 4 << 30
	}
	if s.ObjectsMaxAge <= 0 {
		s.ObjectsMaxAge = 24 * time.Hour
	}
	return s
}

// Setup creates, where they are missing, the streams, the consumer of
// queue and the bucket a par cluster needs: stream PAR_JOBS (work-queue
// retention, DiscardNew, bounded by MaxQueueBytes, file storage), stream
// PAR_RESULTS, the durable pull consumer of queue shared by its workers,
// the bucket of live workers and the object store PAR_OBJECTS (bounded
// by MaxObjectStoreBytes, objects expiring after ObjectsMaxAge). What
// exists is left as it is, so Setup
// is safe to call from every driver and worker; the first caller's
// Settings win. par server calls it at start; against another NATS
// deployment the first driver or worker does.
//
// In a NATS cluster every stream and bucket is created with
// Settings.Replicas copies: by default 3 when the connection knows 3 or
// more servers of the cluster, else 1, and 1 when the cluster has too few
// JetStream servers for 3. While the cluster is still electing its
// JetStream leader, Setup tries again until ctx ends.
func Setup(ctx context.Context, js jetstream.JetStream, queue string, s Settings) error {
	if err := checkName("queue", queue); err != nil {
		return err
	}
	s = s.withDefaults()
	if s.Replicas == 0 {
		s.Replicas = autoReplicas(js.Conn())
	}
	clustered := js.Conn() != nil && js.Conn().ConnectedClusterName() != ""
	err := retrySetup(ctx, clustered, func(ctx context.Context) error { return setup(ctx, js, queue, s) })
	if noJetStream(err) {
		return fmt.Errorf("%w: JetStream is not enabled for this account on the server (run par server, or nats-server with -js)", err)
	}
	return err
}

func setup(ctx context.Context, js jetstream.JetStream, queue string, s Settings) error {
	_, err := ensureStream(ctx, js, jetstream.StreamConfig{
		Name:        JobsStream,
		Description: "par: batches of jobs waiting for a worker",
		Subjects:    []string{jobsPrefix + ">"},
		Retention:   jetstream.WorkQueuePolicy,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    s.MaxQueueBytes,
		Storage:     jetstream.FileStorage,
		Duplicates:  2 * time.Minute,
		Replicas:    s.Replicas,
	})
	if err != nil {
		return err
	}
	if _, err = ensureStream(ctx, js, jetstream.StreamConfig{
		Name:        ResultsStream,
		Description: "par: results on their way to drivers",
		Subjects:    []string{resultsPrefix + ">"},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      s.ResultsMaxAge,
		Storage:     jetstream.FileStorage,
		Duplicates:  2 * time.Minute,
		Replicas:    s.Replicas,
	}); err != nil {
		return err
	}
	if _, err := js.Consumer(ctx, JobsStream, consumerName(queue)); errors.Is(err, jetstream.ErrConsumerNotFound) {
		_, err = js.CreateConsumer(ctx, JobsStream, jetstream.ConsumerConfig{
			Durable:       consumerName(queue),
			Description:   "par: workers of queue " + queue,
			FilterSubject: jobsPrefix + queue + ".>",
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       s.AckWait,
			MaxDeliver:    s.MaxDeliver,
			MaxAckPending: s.MaxAckPending,
			MaxWaiting:    4096,
		})
		if err != nil && !errors.Is(err, jetstream.ErrConsumerExists) {
			return fmt.Errorf("cluster: creating the consumer of queue %s: %w", queue, err)
		}
	} else if err != nil {
		return fmt.Errorf("cluster: looking up the consumer of queue %s: %w", queue, err)
	}
	if _, err := js.KeyValue(ctx, WorkersBucket); errors.Is(err, jetstream.ErrBucketNotFound) {
		_, err = createKV(ctx, js, jetstream.KeyValueConfig{
			Bucket:      WorkersBucket,
			Description: "par: live workers",
			TTL:         s.WorkerTTL,
			Storage:     jetstream.FileStorage,
			Replicas:    s.Replicas,
		})
		if err != nil && !errors.Is(err, jetstream.ErrBucketExists) && !isAlreadyInUse(err) {
			return fmt.Errorf("cluster: creating bucket %s: %w", WorkersBucket, err)
		}
	} else if err != nil {
		return fmt.Errorf("cluster: looking up bucket %s: %w", WorkersBucket, err)
	}
	return ensureObjects(ctx, js, s)
}

func ensureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	st, err := js.Stream(ctx, cfg.Name)
	if err == nil {
		return st, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("cluster: looking up stream %s: %w", cfg.Name, err)
	}
	st, err = js.CreateStream(ctx, cfg)
	if err != nil && cfg.Replicas > 1 && tooFewServers(err) {
		cfg.Replicas = 1
		st, err = js.CreateStream(ctx, cfg)
	}
	if err != nil && (errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) || isAlreadyInUse(err)) {
		st, err = js.Stream(ctx, cfg.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: creating stream %s: %w", cfg.Name, err)
	}
	return st, nil
}

func isAlreadyInUse(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == jetstream.JSErrCodeStreamNameInUse
}

func consumerName(queue string) string { return "par-" + queue }

// checkName reports whether s can be one token of a NATS subject.
func checkName(what, s string) error {
	if s == "" || strings.ContainsAny(s, ".*> \t\r\n") {
		return fmt.Errorf("%w: cluster: %s name %q must be non-empty, without dots, spaces, '*' or '>'", errInvalidOption, what, s)
	}
	return nil
}
