package dashboard

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics turns each scrape into a Snapshot of its Source.
type metrics struct{ src Source }

var (
	lblQT   = []string{"queue", "task"}
	lblQ    = []string{"queue"}
	descSub = prometheus.NewDesc("par_jobs_submitted_total", "Jobs published by drivers (each retry counts again).", lblQT, nil)
	descOK  = prometheus.NewDesc("par_jobs_done_total", "Jobs that succeeded.", lblQT, nil)
	descErr = prometheus.NewDesc("par_jobs_failed_total", "Jobs that failed.", lblQT, nil)
	descRet = prometheus.NewDesc("par_jobs_retried_total", "Jobs published again by a driver's retries.", lblQT, nil)
	descRer = prometheus.NewDesc("par_jobs_rerun_total", "Results that came a second time, after a batch was handed to another worker.", lblQT, nil)
	descRdl = prometheus.NewDesc("par_jobs_redelivered_total", "Results of batches handed out more than once (their first worker was lost or stopped).", lblQT, nil)
	descDur = prometheus.NewDesc("par_job_duration_seconds", "Job run time on the worker (the mean over its batch).", lblQT, nil)
	descWrk = prometheus.NewDesc("par_workers_alive", "Workers whose heartbeat is fresh.", lblQ, nil)
	descSlt = prometheus.NewDesc("par_worker_slots", "Batches the live workers can run at once.", lblQ, nil)
	descPnd = prometheus.NewDesc("par_queue_pending_batches", "Batches waiting for a worker.", lblQ, nil)
	descFly = prometheus.NewDesc("par_queue_inflight_batches", "Batches handed to a worker and not finished.", lblQ, nil)
	descRed = prometheus.NewDesc("par_queue_redelivered_batches", "In-flight batches handed out more than once.", lblQ, nil)
	descWat = prometheus.NewDesc("par_queue_waiting_pulls", "Idle worker slots asking for a batch.", lblQ, nil)
	descRun = prometheus.NewDesc("par_runs_active", "Runs with jobs pending.", nil, nil)
	descUp  = prometheus.NewDesc("par_dashboard_source_up", "1 when the dashboard could read the cluster's state.", nil, nil)
)

func (metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSub, descOK, descErr, descRet, descRer, descRdl, descDur, descWrk, descSlt,
		descPnd, descFly, descRed, descWat, descRun, descUp} {
		ch <- d
	}
}

func (m metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := m.src.Snapshot(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	for _, st := range s.Stats {
		for d, v := range map[*prometheus.Desc]int64{descSub: st.Submitted, descOK: st.Done, descErr: st.Failed,
			descRet: st.Retried, descRer: st.Rerun, descRdl: st.Redelivered} {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), st.Queue, st.Task)
		}
		h := st.Duration
		buckets := make(map[float64]uint64, len(h.Bounds))
		for i, b := range h.Bounds {
			if i < len(h.Counts) {
				buckets[b] = h.Counts[i]
			}
		}
		ch <- prometheus.MustNewConstHistogram(descDur, h.Count, h.Sum, buckets, st.Queue, st.Task)
	}
	workers, slots := map[string]int{}, map[string]int{}
	for _, q := range s.Queues {
		workers[q.Name], slots[q.Name] = 0, 0
	}
	for _, w := range s.Workers {
		if !w.Stale {
			workers[w.Queue]++
			slots[w.Queue] += w.Slots
		}
	}
	for q, n := range workers {
		ch <- prometheus.MustNewConstMetric(descWrk, prometheus.GaugeValue, float64(n), q)
		ch <- prometheus.MustNewConstMetric(descSlt, prometheus.GaugeValue, float64(slots[q]), q)
	}
	for _, q := range s.Queues {
		ch <- prometheus.MustNewConstMetric(descPnd, prometheus.GaugeValue, float64(q.Pending), q.Name)
		ch <- prometheus.MustNewConstMetric(descFly, prometheus.GaugeValue, float64(q.InFlight), q.Name)
		ch <- prometheus.MustNewConstMetric(descRed, prometheus.GaugeValue, float64(q.Redelivered), q.Name)
		ch <- prometheus.MustNewConstMetric(descWat, prometheus.GaugeValue, float64(q.Waiting), q.Name)
	}
	active := 0
	for _, r := range s.Runs {
		if r.State == RunRunning {
			active++
		}
	}
	ch <- prometheus.MustNewConstMetric(descRun, prometheus.GaugeValue, float64(active))
}
