package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A tool is one contender in a workload: a command whose run is measured.
type tool struct {
	Name   string   `json:"name"`
	Argv   []string `json:"argv"`
	Stdin  string   `json:"-"`
	Serial string   `json:"serial,omitempty"` // the serial baseline it is compared with (speed-up)
	Skip   string   `json:"skip,omitempty"`   // why it was not measured
	Note   string   `json:"note,omitempty"`
	// Timeout bounds one run; a run that takes longer is stopped and the
	// tool is not run again. Zero is the run's default (10 minutes).
	Timeout time.Duration `json:"-"`

	Samples []sample `json:"-"`
}

// A workload is one table of results.
type workload struct {
	Key     string  `json:"key"`
	Title   string  `json:"title"`
	About   string  `json:"about"` // what is run and what the time covers
	Jobs    int     `json:"jobs"`
	Ref     string  `json:"ref"`              // the par tool the ratios are to
	Speedup bool    `json:"speedup"`          // report speed-up over serial and efficiency
	Workers int     `json:"workers"`          // for the efficiency
	Series  string  `json:"series,omitempty"` // workloads of one series share a table and a line chart
	Ideal   float64 `json:"ideal,omitempty"`  // the least time possible, if known
	// Latency marks a workload of jobs run one at a time, whose tools
	// print one job's round trip (median and p99) besides the time: its
	// table shows those, and vs par compares median round trips.
	Latency bool    `json:"latency,omitempty"`
	Tools   []*tool `json:"-"`
}

const (
	clusterNote       = "par server (its default: every write fsynced) and 2 par worker processes of the driver's binary, one batch at a time each"
	clusterNoSyncNote = "the same with par server --no-sync"
)

// env is what the plan is made from.
type env struct {
	quick   bool
	self    string // this binary
	parBin  string
	bench   string // the bench directory, holding peers/
	python  string
	tmp     string
	missing map[string]string // peer → why it cannot run
}

func (e *env) goTool(workload, name string, n int) *tool {
	return &tool{Name: name, Argv: []string{e.self, "job", workload, name, strconv.Itoa(n)}}
}

func (e *env) pyTool(script, name, needs string, n int) *tool {
	t := &tool{Name: name, Argv: []string{e.python, filepath.Join(e.bench, "peers", script), name, strconv.Itoa(n)}}
	if why := e.missing[needs]; why != "" {
		t.Skip = why
	}
	return t
}

// A pyPeer is a tool of a Python script: its name on the script's command
// line, the package it needs and what it runs.
type pyPeer struct{ name, needs, note string }

// pyTools returns script's tools for peers, each with its note.
func (e *env) pyTools(script string, n int, peers ...pyPeer) []*tool {
	ts := make([]*tool, len(peers))
	for i, p := range peers {
		ts[i] = e.pyTool(script, p.name, p.needs, n)
		ts[i].Note = p.note
	}
	return ts
}

// cmdTool is a command run on stdin's lines; peer is what must be installed.
func (e *env) cmdTool(name, peer, stdin string, argv ...string) *tool {
	return &tool{Name: name, Argv: argv, Stdin: stdin, Skip: e.missing[peer]}
}

// sizes are the job counts: the issue's, or the --quick ones.
func (e *env) size(full, quick int) int {
	if e.quick {
		return quick
	}
	return full
}

// plan lists the workloads and their tools.
func (e *env) plan() ([]*workload, error) {
	var ws []*workload

	n := e.size(1_000_000, 100_000)
	w := &workload{Key: "tiny", Title: "1. Tiny jobs in one Go process", Jobs: n, Ref: "par",
		About: fmt.Sprintf("%s jobs of about 10 ns (a chain of 4 square roots) on 2 cores: par.Map against the Go libraries people reach for. Time: the call alone, runtime warmed.", count(n))}
	for _, name := range []string{"serial", "par", "errgroup", "conc-pool", "conc-iter"} {
		w.Tools = append(w.Tools, e.goTool("tiny", name, n))
	}
	w.Tools[0].Note = "a plain loop, no parallelism"
	w.Tools[1].Note = "par.Map on goroutines (the default)"
	w.Tools[2].Note = "errgroup.Group with SetLimit(2), a goroutine a job"
	w.Tools[3].Note = "conc pool.New().WithMaxGoroutines(2)"
	w.Tools[4].Note = "conc iter.Map"
	ws = append(ws, w)

	n = e.size(200, 20)
	w = &workload{Key: "cpu", Title: "2. CPU-bound jobs", Jobs: n, Ref: "par", Speedup: true, Workers: 2,
		About: fmt.Sprintf("%d jobs of 5 ms of CPU each (spinning on the thread's CPU clock, so every tool does the same work) on 2 workers. Time: the map alone, with pools, workers and clusters started and warmed beforehand.", n)}
	goSerial := e.goTool("cpu", "serial", n)
	goSerial.Name = "serial (Go)"
	w.Tools = append(w.Tools, goSerial)
	for _, name := range []string{"par", "par-proc", "par-cluster", "par-cluster-nosync"} {
		t := e.goTool("cpu", name, n)
		t.Serial = goSerial.Name
		w.Tools = append(w.Tools, t)
	}
	w.Tools[1].Note = "par.Map on goroutines (the default)"
	w.Tools[2].Note = "par.On(proc.New(proc.Workers(2)))"
	w.Tools[3].Note = clusterNote
	w.Tools[4].Note = clusterNoSyncNote
	for _, t := range e.pyTools("cpu.py", n,
		pyPeer{"serial", "python3", "a plain loop"},
		pyPeer{"joblib-threading", "joblib", "Parallel(n_jobs=2, prefer=\"threads\")"},
		pyPeer{"joblib-loky", "joblib", "Parallel(n_jobs=2), the default backend"},
		pyPeer{"mp-pool", "python3", "multiprocessing.Pool(2).map"},
		pyPeer{"process-pool-executor", "python3", "concurrent.futures.ProcessPoolExecutor(2).map"},
		pyPeer{"dask", "distributed", "LocalCluster(n_workers=2, threads_per_worker=1), client.map"},
	) {
		t.Serial = "serial (Python)"
		if t.Name == "serial" {
			t.Name, t.Serial = "serial (Python)", ""
		}
		w.Tools = append(w.Tools, t)
	}
	ws = append(ws, w)

	n = e.size(100_000, 10_000)
	w = &workload{Key: "boundary", Title: "3. Tiny jobs across a process boundary", Jobs: n, Ref: "par-proc",
		About: fmt.Sprintf("%s square roots on 2 worker processes: inputs and results cross pipes or the network. Time: the map alone, workers started and warmed.", count(n))}
	w.Tools = append(w.Tools, e.goTool("boundary", "par-proc", n), e.goTool("boundary", "par-cluster", n), e.goTool("boundary", "par-cluster-nosync", n))
	w.Tools[0].Note = "par.On(proc.New(proc.Workers(2)))"
	w.Tools[1].Note = clusterNote
	// With every write fsynced, this workload's run time follows the
	// disk's load; on a busy disk it can take minutes, so it gets one.
	w.Tools[1].Timeout = time.Duration(e.size(90, 30)) * time.Second
	w.Tools[2].Note = clusterNoSyncNote
	w.Tools = append(w.Tools, e.pyTools("boundary.py", n,
		pyPeer{"mp-pool", "python3", "multiprocessing.Pool(2).map, its default chunks"},
		pyPeer{"joblib-loky", "joblib", "Parallel(n_jobs=2), automatic batching"},
		pyPeer{"dask", "distributed", "dask.bag of 20 partitions on LocalCluster(n_workers=2)"},
	)...)
	ws = append(ws, w)

	shell, err := e.shellWorkloads()
	if err != nil {
		return nil, err
	}
	ws = append(ws, shell...)

	n = e.size(2000, 200)
	w = &workload{Key: "fanout", Title: "5. I/O-bound fan-out", Jobs: n, Ref: "par",
		Ideal: float64((n+63)/64) * 0.05,
		About: fmt.Sprintf("%s HTTP GETs, 64 at a time, to 4 servers on 127.0.0.1 that answer after 50 ms (the least possible time is %.2f s). Time: the fan-out alone.", count(n), float64((n+63)/64)*0.05)}
	w.Tools = append(w.Tools, e.goTool("fanout", "par", n), e.goTool("fanout", "errgroup", n))
	w.Tools[0].Note = "par.Map with par.Jobs(64), net/http"
	w.Tools[1].Note = "errgroup with SetLimit(64), net/http"
	w.Tools = append(w.Tools, e.pyTools("fanout.py", n,
		pyPeer{"thread-pool-executor", "python3", "concurrent.futures.ThreadPoolExecutor(64), http.client"},
		pyPeer{"joblib-threading", "joblib", "Parallel(n_jobs=64, prefer=\"threads\"), http.client"},
		pyPeer{"mp-threadpool", "python3", "multiprocessing.pool.ThreadPool(64), http.client"},
	)...)
	ws = append(ws, w)

	sizes := []int{1_000, 10_000, 100_000, 1_000_000}
	if e.quick {
		sizes = sizes[:2]
	}
	for _, n := range sizes {
		w := &workload{Key: "scaling-" + strconv.Itoa(n), Series: "scaling", Title: "6. Scaling with the number of jobs", Jobs: n, Ref: "par",
			About: "10³ to 10⁶ tiny jobs: how the total time grows with the number of jobs. The Go tools run the 10 ns job of workload 1 in-process (par-proc on 2 worker processes); multiprocessing.Pool.map runs square roots, Python's cheapest job, on 2 processes. Time: the call alone, pools started and warmed."}
		for _, name := range []string{"par", "errgroup", "conc-pool", "conc-iter", "par-proc"} {
			w.Tools = append(w.Tools, e.goTool("tiny", name, n))
		}
		t := e.pyTool("boundary.py", "mp-pool", "python3", n)
		w.Tools = append(w.Tools, t)
		ws = append(ws, w)
	}

	n = e.size(1000, 100)
	w = &workload{Key: "latency", Title: "7. One job at a time", Jobs: n, Ref: "par-cluster", Latency: true,
		About: fmt.Sprintf("%s square roots, each submitted alone and its result waited for before the next is submitted, on 2 worker processes: what one job costs when nothing is batched. Time: the loop of %s round trips, with pools, workers and clusters started and warmed by %d such jobs; **median** and **p99** are one round trip's (each the median over the rounds), and vs par compares median round trips.", count(n), count(n), latencyWarm)}
	w.Tools = append(w.Tools, e.goTool("latency", "par-proc", n), e.goTool("latency", "par-cluster", n), e.goTool("latency", "par-cluster-nosync", n))
	w.Tools[0].Note = "par.Submit(…).Wait on par.NewPool(par.On(proc.New(proc.Workers(2))))"
	w.Tools[1].Note = "the same on " + clusterNote
	w.Tools[2].Note = clusterNoSyncNote
	w.Tools = append(w.Tools, e.pyTools("latency.py", n,
		pyPeer{"mp-pool", "python3", "multiprocessing.Pool(2).apply"},
		pyPeer{"process-pool-executor", "python3", "concurrent.futures.ProcessPoolExecutor(2).submit(…).result()"},
		pyPeer{"dask", "distributed", "LocalCluster(n_workers=2, threads_per_worker=1), client.submit(…, pure=False).result()"},
	)...)
	ws = append(ws, w)
	return ws, nil
}

// shellWorkloads are the par command's: starting processes, with and
// without -k --joblog, and gzip on files.
func (e *env) shellWorkloads() ([]*workload, error) {
	n := e.size(400, 100)
	seq := filepath.Join(e.tmp, "seq")
	if err := os.WriteFile(seq, []byte(lines(n, strconv.Itoa)), 0o644); err != nil {
		return nil, err
	}
	const why = "Fewer jobs than `seq 2000`, so that five rounds of GNU parallel, which starts jobs slowly (see its jobs/s), fit in the run: jobs/s is the figure to compare."
	t := &workload{Key: "true", Title: "4a. Shell commands: `true`", Jobs: n, Ref: "par",
		About: fmt.Sprintf("`seq %d | TOOL -j2 true`. Time: the whole command. %s", n, why)}
	t.Tools = []*tool{
		e.cmdTool("par", "", seq, e.parBin, "-j2", "true"),
		e.cmdTool("GNU parallel", "parallel", seq, "parallel", "--will-cite", "-j2", "true"),
		e.cmdTool("rush", "rush", seq, "rush", "-j", "2", "true"),
		e.cmdTool("xargs -P2", "xargs", seq, "xargs", "-P2", "-n1", "true"),
	}

	k := &workload{Key: "true-k-joblog", Title: "4b. Shell commands: `true` with `-k --joblog`", Jobs: n, Ref: "par",
		About: fmt.Sprintf("`seq %d | TOOL -j2 -k --joblog FILE true`. Time: the whole command.", n)}
	k.Tools = []*tool{
		e.cmdTool("par", "", seq, e.parBin, "-j2", "-k", "--joblog", filepath.Join(e.tmp, "par.joblog"), "true"),
		e.cmdTool("GNU parallel", "parallel", seq, "parallel", "--will-cite", "-j2", "-k", "--joblog", filepath.Join(e.tmp, "parallel.joblog"), "true"),
		{Name: "rush", Skip: "rush has no --joblog"},
		{Name: "xargs -P2", Skip: "xargs has neither --keep-order nor --joblog"},
	}

	files := e.size(300, 100) // fewer than 1,000 for GNU parallel's sake, as above
	list, err := gzipInputs(filepath.Join(e.tmp, "gz"), files)
	if err != nil {
		return nil, err
	}
	g := &workload{Key: "gzip", Title: "4c. Shell commands: gzip", Jobs: files, Ref: "par",
		About: fmt.Sprintf("%s files of 64 KiB (text-like, compressible), their names on stdin: `TOOL -j2 gzip -kf`. Time: the whole command.", count(files))}
	g.Tools = []*tool{
		e.cmdTool("par", "", list, e.parBin, "-j2", "gzip", "-kf"),
		e.cmdTool("GNU parallel", "parallel", list, "parallel", "--will-cite", "-j2", "gzip", "-kf"),
		e.cmdTool("rush", "rush", list, "rush", "-j", "2", "gzip -kf {}"),
		e.cmdTool("xargs -P2", "xargs", list, "xargs", "-P2", "-n1", "gzip", "-kf"),
	}
	return []*workload{t, k, g}, nil
}

// gzipInputs writes n files of 64 KiB of words and returns a file that
// lists them.
func gzipInputs(dir string, n int) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	words := strings.Fields("par runs many independent jobs at once on every core of one machine in isolated worker processes or across a cluster and hands the results back in order with errors progress and retries handled")
	var names []string
	for i := range n {
		var b strings.Builder
		for j := 0; b.Len() < 64<<10; j++ {
			b.WriteString(words[(i*7+j*j)%len(words)])
			b.WriteByte(" \n"[j%12/11])
		}
		name := filepath.Join(dir, fmt.Sprintf("f%04d.txt", i))
		if err := os.WriteFile(name, []byte(b.String()[:64<<10]), 0o644); err != nil {
			return "", err
		}
		names = append(names, name)
	}
	list := filepath.Join(dir, "list")
	return list, os.WriteFile(list, []byte(strings.Join(names, "\n")+"\n"), 0o644)
}

func lines(n int, f func(int) string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		b.WriteString(f(i))
		b.WriteByte('\n')
	}
	return b.String()
}

// count writes n with thousands separators.
func count(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// findMissing says which peers cannot run here, and why.
func (e *env) findMissing(rushErr string) {
	e.missing = map[string]string{}
	if _, err := os.Stat(e.python); err != nil {
		e.missing["python3"] = e.python + " not found (apt-get install python3)"
	}
	for mod, pkg := range map[string]string{"joblib": "python3-joblib", "distributed": "python3-distributed"} {
		if e.missing["python3"] != "" {
			e.missing[mod] = e.missing["python3"]
			continue
		}
		if err := exec.Command(e.python, "-c", "import "+mod).Run(); err != nil {
			e.missing[mod] = fmt.Sprintf("%s cannot import %s (apt-get install %s)", e.python, mod, pkg)
		}
	}
	for _, bin := range []string{"parallel", "rush", "xargs", "gzip"} {
		if _, err := exec.LookPath(bin); err != nil {
			e.missing[bin] = bin + " not on PATH"
		}
	}
	if e.missing["rush"] != "" {
		if rushErr == "" {
			rushErr = "not installed"
		}
		e.missing["rush"] = "rush could not be installed: " + rushErr
	}
	if e.missing["parallel"] != "" {
		e.missing["parallel"] += " (apt-get install parallel)"
	}
}
