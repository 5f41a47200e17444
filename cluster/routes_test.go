package cluster_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/par-project/par/internal/testio"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
)

// envServer makes the test binary run par server with the JSON-encoded
// arguments it holds: how the tests start server processes they can kill.
const envServer = "PAR_CLUSTER_TEST_SERVER"

func serverMain(args string) int {
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return cluster.ServerMain(ctx, argv, os.Stdout, os.Stderr)
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// node is a NATS server process of a test cluster: par server (the test
// binary) or a plain nats-server.
type node struct {
	t      testing.TB
	name   string
	url    string   // its client URL
	argv   []string // the command line that starts it
	env    []string
	cmd    *exec.Cmd
	stderr testio.Buffer
	done   chan struct{}
	ready  chan struct{} // closed when par server printed its URL
}

// start starts the node's process; it is stopped when the test ends.
func (n *node) start() {
	n.t.Helper()
	n.cmd = exec.Command(n.argv[0], n.argv[1:]...)
	n.cmd.Env = append(os.Environ(), n.env...)
	n.stderr = testio.Buffer{}
	n.cmd.Stderr = &n.stderr
	n.done, n.ready = make(chan struct{}), make(chan struct{})
	stdout, err := n.cmd.StdoutPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	cmd, done, ready := n.cmd, n.done, n.ready
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() && strings.HasPrefix(sc.Text(), "nats://") {
			close(ready)
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(done)
	}()
	n.t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			n.t.Errorf("%s did not stop on SIGTERM", n.name)
		}
	})
}

// kill stops the node with SIGKILL, as a crash would.
func (n *node) kill() {
	_ = n.cmd.Process.Kill()
	<-n.done
}

// waitReady waits until par server printed its URL: its cluster formed and
// par's streams are set up.
func (n *node) waitReady(ctx context.Context) {
	n.t.Helper()
	select {
	case <-n.ready:
	case <-n.done:
		n.t.Fatalf("%s exited before it was ready; stderr:\n%s", n.name, n.stderrText())
	case <-ctx.Done():
		n.t.Fatalf("%s not ready: %v; stderr:\n%s", n.name, ctx.Err(), n.stderrText())
	}
}

func (n *node) stderrText() string {
	return n.stderr.String()
}

// clusterPorts returns the client and cluster addresses of a 3-node
// cluster on 127.0.0.1, and the routes every node is given.
func clusterPorts(t testing.TB) (clients, routes []string) {
	ports := freePorts(t, 6)
	for i := range 3 {
		clients = append(clients, fmt.Sprintf("127.0.0.1:%d", ports[i]))
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[3+i]))
	}
	return clients, routes
}

// startParCluster starts three par server processes that form a cluster,
// and waits until it has formed.
func startParCluster(t *testing.T, ctx context.Context) []*node {
	clients, routes := clusterPorts(t)
	var nodes []*node
	for i := range 3 {
		args := []string{"--data", filepath.Join(t.TempDir(), "data"), "--listen", clients[i], "--no-sync", "--ack-wait", "2s",
			"--cluster-listen", strings.TrimPrefix(routes[i], "nats://"), "--routes", strings.Join(routes, ","), "--cluster-name", "partest"}
		enc, _ := json.Marshal(args)
		n := &node{t: t, name: fmt.Sprintf("par server %d", i), url: "nats://" + clients[i],
			argv: []string{os.Args[0], "-test.run=^$"}, env: []string{envServer + "=" + string(enc)}}
		n.start()
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		n.waitReady(ctx)
	}
	return nodes
}

// TestClusterOfParServers forms a cluster of three par servers, checks
// that par's streams have 3 replicas, and runs 5,000 jobs on 3 worker
// processes while the driver's server is killed and restarted.
func TestClusterOfParServers(t *testing.T) {
	ctx := testCtx(t)
	t0 := time.Now()
	nodes := startParCluster(t, ctx)
	t.Logf("formed in %v", time.Since(t0))
	checkReplicas(t, ctx, nodes[1].url, 3)
	if cs, err := connect(t, nodes[1].url).ClusterStatus(ctx); err != nil || cs.Mode != "cluster" || cs.Cluster != "partest" || cs.Replicas != 3 {
		t.Fatalf("cluster status: %+v, %v; want cluster partest with 3 replicas", cs, err)
	}
	chaosOverNodes(t, ctx, nodes, nil)
	nodes[0].waitReady(ctx) // the restarted server rejoined
}

// TestClusterOfNATSServers runs the same over three plain nats-server
// processes with JetStream, a cluster par did not start: the first driver
// creates par's streams there, with 3 replicas.
func TestClusterOfNATSServers(t *testing.T) {
	bin := natsServerBinary(t)
	ctx := testCtx(t)
	clients, routes := clusterPorts(t)
	var nodes []*node
	for i := range 3 {
		host, port, _ := net.SplitHostPort(clients[i])
		n := &node{t: t, name: fmt.Sprintf("nats-server %d", i), url: "nats://" + clients[i], argv: []string{bin,
			"-js", "-a", host, "-p", port, "-sd", t.TempDir(), "-n", fmt.Sprintf("n%d", i),
			"--cluster_name", "partest", "--cluster", routes[i], "--routes", strings.Join(routes, ",")}}
		n.start()
		nodes = append(nodes, n)
	}
	waitJetStream(t, ctx, nodes)
	settings := cluster.WithSettings(cluster.Settings{AckWait: 2 * time.Second})
	c := connect(t, urlsOf(nodes), settings)
	c.Close()
	checkReplicas(t, ctx, nodes[2].url, 3)
	chaosOverNodes(t, ctx, nodes, func(n *node) { waitJetStream(t, ctx, []*node{n}) })
}

// natsServerBinary finds Debian's nats-server, or skips the test; in CI
// (CI=true) a missing nats-server fails it.
func natsServerBinary(t *testing.T) string {
	for _, p := range []string{"/usr/sbin/nats-server", "nats-server"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("nats-server is not installed: .ci/install-deps installs Debian's nats-server package")
	}
	t.Skip("nats-server is not installed (apt-get install nats-server): skipping the test against a plain NATS cluster")
	return ""
}

// waitJetStream waits until every node answers JetStream requests in a
// cluster of 3.
func waitJetStream(t *testing.T, ctx context.Context, nodes []*node) {
	t.Helper()
	for _, n := range nodes {
		for wait := 20 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
			if err := jetStreamUp(ctx, n.url); err == nil {
				break
			} else if ctx.Err() != nil {
				t.Fatalf("%s: JetStream not up: %v; stderr:\n%s", n.name, err, n.stderrText())
			}
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
	}
}

func jetStreamUp(ctx context.Context, url string) error {
	nc, err := nats.Connect(url, nats.NoReconnect())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := js.AccountInfo(actx); err != nil {
		return err
	}
	if n := len(nc.Servers()); n < 3 {
		return fmt.Errorf("knows %d servers", n)
	}
	return nil
}

func urlsOf(nodes []*node) string {
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.url)
	}
	return strings.Join(urls, ",")
}

// checkReplicas checks that par's streams and bucket keep want copies.
func checkReplicas(t *testing.T, ctx context.Context, url string, want int) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	for _, name := range []string{cluster.JobsStream, cluster.ResultsStream, "KV_" + cluster.WorkersBucket} {
		st, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		if got := st.CachedInfo().Config.Replicas; got != want {
			t.Errorf("stream %s has %d replicas, want %d", name, got, want)
		}
	}
}

// chaosOverNodes runs 5,000 jobs on 3 worker processes connected to all
// nodes, kills the node the driver is connected to with SIGKILL at a
// fifth of the run, and starts it again at half: every result must arrive
// once, and be right. rejoined, if given, waits for the restarted node.
func chaosOverNodes(t *testing.T, ctx context.Context, nodes []*node, rejoined func(*node)) {
	t.Helper()
	urls := urlsOf(nodes)
	workers := []*workerProc{}
	for range 3 {
		workers = append(workers, startWorkerProc(t, urls, 2))
	}
	// The driver connects to the first node, the one killed.
	c := connect(t, urls, cluster.NATSOptions(nats.DontRandomize()))
	const n = 5000
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	seen := make([]bool, n)
	got := 0
	for y, err := range par.Stream(ctx, xs, slowSquare.Func(), par.On(c), par.BatchSize(10), par.Unordered()) {
		if err != nil {
			for _, w := range workers {
				t.Logf("worker %d stderr:\n%s", w.cmd.Process.Pid, w.stderrText())
			}
			for _, nd := range nodes {
				t.Logf("%s stderr:\n%s", nd.name, nd.stderrText())
			}
			t.Fatalf("after %d results: %v", got, err)
		}
		i := isqrt(y)
		if i*i != y || i >= n || seen[i] {
			t.Fatalf("result %d: not a square of a job, or delivered twice", y)
		}
		seen[i] = true
		got++
		switch got {
		case n / 5:
			nodes[0].kill()
			t.Logf("killed %s at %d results", nodes[0].name, got)
		case n / 2:
			nodes[0].start()
			t.Logf("restarted %s at %d results", nodes[0].name, got)
		}
	}
	if got != n {
		t.Fatalf("%d results, want %d", got, n)
	}
	if rejoined != nil {
		rejoined(nodes[0])
	}
}

func isqrt(y int) int {
	i := 0
	for (i+1)*(i+1) <= y {
		i++
	}
	return i
}

// TestServerModeChange refuses to turn a standalone server's data into a
// cluster's, with a message that says what to do.
func TestServerModeChange(t *testing.T) {
	dir := t.TempDir()
	s, err := cluster.NewServer(cluster.ServerConfig{DataDir: dir, Listen: "127.0.0.1:0", NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
	_, err = cluster.NewServer(cluster.ServerConfig{DataDir: dir, Listen: "127.0.0.1:0", ClusterListen: "127.0.0.1:0"})
	if !errors.Is(err, cluster.ErrModeChanged) || !strings.Contains(err.Error(), "new --data directory") {
		t.Fatalf("clustered server on a standalone's data: %v, want ErrModeChanged saying what to do", err)
	}
	_, err = cluster.NewServer(cluster.ServerConfig{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Routes: []string{"nats://127.0.0.1:1"}})
	if !errors.Is(err, par.ErrInvalidOption) {
		t.Fatalf("routes without a cluster address: %v, want ErrInvalidOption", err)
	}
	_, err = cluster.NewServer(cluster.ServerConfig{DataDir: t.TempDir(), Listen: "127.0.0.1:0", ClusterListen: "0.0.0.0:0"})
	if !errors.Is(err, cluster.ErrInsecure) {
		t.Fatalf("cluster address beyond loopback without a secret: %v, want ErrInsecure", err)
	}
}
