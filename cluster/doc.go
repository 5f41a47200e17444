// Package cluster runs par's jobs on a cluster of machines, with NATS
// JetStream as the engine: drivers publish batches of jobs, workers on any
// host pull them, and results flow back to the driver.
//
//	srv, _ := cluster.NewServer(cluster.ServerConfig{DataDir: dir}) // or: par server
//	go cluster.Serve(ctx, srv.URL())                                 // on each worker: par worker, or the user's binary
//	c, _ := cluster.Connect(srv.URL())                               // on the driver
//	out, err := par.Map(ctx, inputs, task.Func(), par.On(c))
//
// # Server
//
// NewServer (the par server command) embeds a real nats-server with
// JetStream file storage, so one machine needs nothing installed. Users
// with their own NATS deployment skip it: Connect and Serve take any NATS
// URL and create what par needs there (see Setup).
//
// # Clusters of servers
//
// Several par servers form one NATS cluster when each is given a cluster
// address and the others' (ServerConfig.ClusterListen and Routes; par
// server --cluster-listen and --routes): routes join the embedded servers,
// and each keeps its client listener. A server of a cluster sets up par's
// streams once JetStream has elected its leader, which takes a few
// seconds (Server.Ready). Streams and buckets then keep 3 replicas when
// the cluster has 3 servers or more (1 otherwise; Settings.Replicas says
// otherwise), so a cluster of 3 rides out the loss of any one server.
// The same holds against a NATS cluster par did not start: the first
// driver or worker creates the streams there, with the replicas the
// cluster can keep.
//
// Drivers and workers take several URLs, comma-separated
// ("nats://a:4222,nats://b:4222"), and move to another server when theirs
// goes away; batches a driver was waiting for are sent again, and results
// are still delivered once.
//
// A standalone server's streams do not carry over into a cluster (nor
// back): a server refuses, with ErrModeChanged, a data directory written
// in the other mode. To move, let the standalone server's runs finish (or
// stop their drivers), start the cluster on new data directories, and
// submit again what had not finished.
//
// # Durable runs and dead letters
//
// A run started with Client.Run keeps its results under its name, so a
// driver that crashed and runs the name again gets them back and runs
// only what is missing; Client.Runs lists such runs and deletes finished
// ones after KeepFinished. Its driver takes only stored results, not the
// copies workers send it straight away, so a job it counts as done is
// one a driver that runs the name again finds done. A batch that
// exhausts Settings.MaxDeliver is kept in stream PAR_DEAD with the reason
// (Client.DeadLetters), and Client.Retry (par retry RUN) queues it again.
//
// # Jobs and workers
//
// Jobs travel as the registered task's name and the jobs' CBOR-encoded
// inputs (see par.Register), in batches sized to run about 100 ms, so many
// tiny jobs share one message. A batch travels packed, as par hands it to
// a backend: its inputs are one CBOR array, which the worker decodes with
// one call, and its results come back as one array of outputs beside the
// errors of the jobs that failed (see internal/wire's Batch and Results).
// Encoding and decoding then cost a job about 70 ns, both ways and both
// sides (internal/wire's benchmarks), where an envelope entry for each
// job cost about 0.5 µs.
//
// Batches wait in the work-queue stream PAR_JOBS, on subject
// par.jobs.<queue>.<run>; every worker of a queue pulls from one durable
// consumer, and only as many batches as it has free slots: a free worker
// takes the next batch, which is the load balancing. A driver keeps
// twice as many batches in flight as the live workers run at once
// (Slots), so that a worker finds its next batch waiting when it finishes
// one instead of waiting for a round trip through the driver. Go funcs
// cannot travel, so every worker must run the same binary as the driver
// (Serve), or be par worker for shell commands.
//
// # What par promises
//
// At-least-once execution, exactly-once delivery of results to the driver,
// bounded retries with failures reported, and no ordering beyond what the
// driver restores (par.Map's ordered mode). Not exactly-once side effects:
// a job runs again when its worker is lost before its results are stored,
// so jobs with side effects must be idempotent.
//
//   - A worker acknowledges a batch only after its results are stored on
//     the server. A lost worker (killed, partitioned) is noticed after
//     Settings.AckWait (30s by default): disconnects alone do not trigger
//     redelivery. Its batch then goes to another worker.
//   - A batch handed out Settings.MaxDeliver times (5) is not run again:
//     its jobs fail with a *par.WorkerLostError saying why, which
//     par.Retries may retry as a new batch. Nothing is dropped silently.
//   - Results carry job indexes; the first result of each job wins, so a
//     job that ran twice is delivered once.
//   - Batches are published with a message id, so a driver retrying a
//     publish cannot enqueue twice. A full queue (Settings.MaxQueueBytes)
//     is an error to the driver, ErrQueueFull.
//   - Durability: par server writes every message to disk before
//     acknowledging it (ServerConfig.NoSync relaxes this), so acknowledged
//     jobs and results survive a crash of the server and of the machine.
//     Restarted on the same data directory, the server lets drivers and
//     workers go on where they were.
//
// # Cancellation
//
// When a driver's context ends, or a fail-fast run stops at its first
// error, the session withdraws the run's batches still queued (deleting
// their messages from PAR_JOBS) and publishes the run id on
// par.cancel.<run>: workers cancel the context of that run's running
// batches and skip any they pull later.
//
// # Errors
//
// Job errors come back so that errors.Is and errors.As work as they do
// locally: a panic is a *par.PanicError (its Value is the panic's text),
// a timeout wraps par.ErrTimeout, an unknown task par.ErrUnknownTask, a
// retryable error stays retryable, and other errors keep their text.
// Inputs or results larger than the object store takes
// (Settings.MaxObjectStoreBytes) fail with ErrTooLarge.
//
// # Large values
//
// Batches are split to fit the server's max payload (1 MiB by default).
// A job's input or result larger than that goes through the object store
// PAR_OBJECTS by itself: the driver stores the input and sends a
// reference in its place, the worker stores a large result likewise, and
// the other side fetches it. A value shared by many jobs is better stored
// once with Put: jobs carry the small Ref it returns, and each worker
// fetches the value on the first Ref.Get and keeps it (ObjectCache).
// Objects are named by the SHA-256 of their encoding, so a value stored
// twice is kept once; they expire Settings.ObjectsMaxAge (24h) after they
// were stored, and the store holds up to Settings.MaxObjectStoreBytes (4
// GiB), past which storing fails with ErrObjectStoreFull.
//
// # Watching
//
// par status and the dashboard (see package dashboard) show a cluster from
// what crosses it. Batches carry headers naming their run (HeaderName: the
// name given to Client.Named, else the task's), the driver's host and,
// when known, the run's total; results carry the delivery they answer
// (HeaderDelivery: 2 or more when a worker was lost or stopped); a driver
// closing a session publishes an Ended on par.ended.<run>; and workers
// list the jobs they run in their WorkerInfo. par server answers par
// status with what it has seen (its Collector); the cluster itself keeps
// only the workers and queues (Client.Status).
//
// # Security
//
// NewServer listens on 127.0.0.1 unless told otherwise and refuses another
// address without a secret (ErrInsecure). The secret is NATS token
// authentication; a wrong one fails with ErrAuth and nothing runs. A
// worker runs shell-command jobs (task ExecTask) only with AllowExec.
//
// Given a certificate and its key (ServerConfig.TLSCert and TLSKey), the
// server is TLS-only and its URL tls://…; clients trust its CA with TLSCA,
// and a client that does not, or asks for TLS from a server without it,
// fails at once with ErrUntrusted or ErrNoTLS. TLS encrypts, the secret
// authenticates: beyond loopback the secret is still required.
// ServerConfig.TLSVerify asks for client certificates (TLSCert). Against a
// NATS deployment with accounts, clients authenticate with a credentials
// file (Credentials).
package cluster
