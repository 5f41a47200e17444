package cluster_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/par-project/par"
	"github.com/par-project/par/cluster"
	"github.com/par-project/par/partest"
)

// TestCredsFile runs jobs on a NATS server with accounts (operator mode,
// as nsc sets it up), whose clients authenticate with a credentials file:
// a driver and a worker with one get results, a client without one or
// with another operator's is refused with ErrAuth.
func TestCredsFile(t *testing.T) {
	url, creds := startAccountServer(t)
	_, foreign := startAccountServer(t)
	partest.StartWorkers(t, url, 1, cluster.Credentials(creds))
	c := connect(t, url, cluster.Credentials(creds))
	got, err := par.Map(testCtx(t), []int{5, 6}, squareTask.Func(), par.On(c))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{25, 36}; !slices.Equal(got, want) {
		t.Fatalf("par.Map with a credentials file = %v, want %v", got, want)
	}
	if _, err := cluster.Connect(url); !errors.Is(err, cluster.ErrAuth) {
		t.Errorf("Connect without credentials: %v, want ErrAuth", err)
	}
	if _, err := cluster.Connect(url, cluster.Credentials(foreign)); !errors.Is(err, cluster.ErrAuth) {
		t.Errorf("Connect with another operator's credentials: %v, want ErrAuth", err)
	}
}

// startAccountServer starts a nats-server with JetStream trusting a fresh
// operator, with one account and a user of it, and returns its URL and the
// user's credentials file.
func startAccountServer(t *testing.T) (url, creds string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	okp, err := nkeys.CreateOperator()
	must(err)
	opub, err := okp.PublicKey()
	must(err)
	oc := jwt.NewOperatorClaims(opub)
	account := func(js bool) (string, string, nkeys.KeyPair) {
		kp, err := nkeys.CreateAccount()
		must(err)
		pub, err := kp.PublicKey()
		must(err)
		ac := jwt.NewAccountClaims(pub)
		if js {
			ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
		}
		tok, err := ac.Encode(okp)
		must(err)
		return pub, tok, kp
	}
	sysPub, sysJWT, _ := account(false)
	accPub, accJWT, akp := account(true)
	oc.SystemAccount = sysPub
	resolver := &server.MemAccResolver{}
	must(resolver.Store(sysPub, sysJWT))
	must(resolver.Store(accPub, accJWT))

	ukp, err := nkeys.CreateUser()
	must(err)
	upub, err := ukp.PublicKey()
	must(err)
	seed, err := ukp.Seed()
	must(err)
	utok, err := jwt.NewUserClaims(upub).Encode(akp)
	must(err)
	file, err := jwt.FormatUserConfig(utok, seed)
	must(err)
	creds = filepath.Join(t.TempDir(), "user.creds")
	must(os.WriteFile(creds, file, 0o600))

	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
		TrustedOperators: []*jwt.OperatorClaims{oc}, SystemAccount: sysPub, AccountResolver: resolver,
	})
	must(err)
	ns.SetLogger(testLogger{t}, false, false)
	ns.Start()
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server with accounts did not start")
	}
	return ns.ClientURL(), creds
}

// testLogger passes a nats-server's warnings and errors to the test's log.
type testLogger struct{ t testing.TB }

func (l testLogger) Noticef(string, ...any) {}
func (l testLogger) Debugf(string, ...any)  {}
func (l testLogger) Tracef(string, ...any)  {}
func (l testLogger) Warnf(format string, v ...any) {
	l.t.Logf("nats-server: warning: "+format, v...)
}
func (l testLogger) Errorf(format string, v ...any) {
	l.t.Logf("nats-server: error: "+format, v...)
}
func (l testLogger) Fatalf(format string, v ...any) {
	l.t.Logf("nats-server: fatal: "+format, v...)
}
