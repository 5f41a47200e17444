// Package dashboard serves a live web page and Prometheus metrics about a
// par cluster: its workers, its queues, the runs going through it, their
// throughput and their latest failures.
//
//	col, err := dashboard.Watch(nc)              // a Collector: a Source fed by JetStream
//	d, err := dashboard.New(col, dashboard.Secret(secret))
//	ln, err := dashboard.Listen("127.0.0.1:8222", secret)
//	http.Serve(ln, d.Handler())
//
// or, in one call that returns when ctx ends, dashboard.Serve. `par server
// --http ADDR` runs a Collector in the server's process, on a connection
// that does not leave it, and serves its Dashboard on ADDR.
//
// # What is served
//
//   - / the page: HTML, CSS and JavaScript embedded in the binary, no
//     outside resource, so it works offline. It follows /api/events.
//   - /api/state: one Snapshot as JSON.
//   - /api/events: server-sent events, one Snapshot as JSON every Interval
//     (a second by default).
//   - /metrics: Prometheus text format (see Metrics below).
//   - /healthz: "ok" while the Source answers.
//
// The page inserts every text that comes from the cluster (worker names,
// error texts, run names) as text, never as markup, and the responses carry
// a Content-Security-Policy that allows scripts and styles only from the
// dashboard itself: a job's error text such as "<script>…" shows as
// written and runs nothing.
//
// # Where the figures come from
//
// A Collector reads only; it changes nothing in the cluster. It
//
//   - subscribes to par.jobs.>, par.results.> and par.ended.* as a plain
//     NATS subscriber: it sees each batch a driver publishes (run, queue,
//     task, job count, attempt, and from its headers the run's name, the
//     driver's host and the run's total), each result a worker publishes
//     (job index, worker, run time, error text, and from its headers the
//     delivery it answers: a second delivery means the first worker was
//     lost or stopped), and each driver's word that a run is over or was
//     given up, and counts them. It counts what was published after it
//     started: a run already under way is shown as partial, its earlier
//     jobs unknown;
//   - watches the PAR_WORKERS bucket, whose entries workers refresh every
//     WorkerTTL/3: a worker not heard from for two thirds of WorkerTTL is
//     shown as stale, and is dropped once its entry's TTL has passed;
//   - polls, every Interval, the PAR_JOBS stream (batches waiting or
//     running, per run) and its consumers (each queue's depth, in-flight
//     and redelivered batches, idle worker slots).
//
// Seeing every batch costs the Collector a copy of every job's input and
// output as they cross the server: in `par server`, where it runs in the
// server's process, that is a copy in memory per message.
//
// # Metrics
//
// Counters, labelled by queue and task, of what the Collector saw since it
// started: par_jobs_submitted_total, par_jobs_done_total (succeeded),
// par_jobs_failed_total, par_jobs_retried_total (jobs submitted again by
// the driver's retries), par_jobs_rerun_total (jobs whose result came a
// second time because their batch was handed to another worker),
// par_jobs_redelivered_total (results of batches handed out more than
// once, whether or not the first worker's results came) and the
// histogram par_job_duration_seconds (each batch's mean run time per job,
// as workers report it). Gauges: par_workers_alive and
// par_worker_slots by queue, par_queue_pending_batches,
// par_queue_inflight_batches, par_queue_redelivered_batches and
// par_queue_waiting_pulls by queue, par_runs_active.
//
// # par status
//
// Answer makes a Collector answer requests on the NATS subject par.status
// with its Snapshot; par server does, and par status asks (Ask) and prints
// the answer as tables or JSON. A cluster without par server has nobody
// answering: Ask then fails with ErrNoAnswer.
//
// # Security
//
// The dashboard shows job errors, which may quote job inputs. Listen
// refuses, with ErrInsecure, an address other than loopback unless a
// secret is given, like par server. With Secret set, every request but
// /healthz and the static files must carry it: as "Authorization: Bearer
// <secret>" (how Prometheus is configured to scrape), as a cookie, or once
// as "?token=<secret>" on the page's address, which sets the cookie and
// drops the token from the address bar. Without a secret the dashboard
// answers only requests addressed to a loopback host name, so that a web
// page elsewhere cannot reach it through DNS rebinding.
package dashboard
