package dashboard

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

//go:embed assets
var assets embed.FS

// ErrInvalidOption is wrapped by the errors of bad options.
var ErrInvalidOption = errors.New("dashboard: invalid option")

// ErrInsecure is returned by Listen for an address other than loopback
// without a secret.
var ErrInsecure = errors.New("dashboard: refusing to serve on an address other than loopback without a secret")

// An Option configures a Dashboard.
type Option func(*options) error

type options struct {
	secret     string
	interval   time.Duration
	maxClients int
}

// Secret makes every request but /healthz and the static files present s
// (see the package doc). "" leaves the dashboard open to loopback clients.
func Secret(s string) Option {
	return func(o *options) error { o.secret = s; return nil }
}

// Interval sets how often /api/events sends a Snapshot: 1s by default, at
// most 1s, at least 50ms.
func Interval(d time.Duration) Option {
	return func(o *options) error {
		if d < 50*time.Millisecond || d > time.Second {
			return fmt.Errorf("%w: Interval(%v) must be between 50ms and 1s", ErrInvalidOption, d)
		}
		o.interval = d
		return nil
	}
}

// MaxClients bounds the pages following /api/events at once (64 by
// default); more are answered 503.
func MaxClients(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: MaxClients(%d) must be at least 1", ErrInvalidOption, n)
		}
		o.maxClients = n
		return nil
	}
}

// A Dashboard serves a Source over HTTP. Close it to end the event
// streams it serves, which an http.Server's Shutdown would otherwise wait
// for.
type Dashboard struct {
	src     Source
	o       options
	reg     *prometheus.Registry
	clients chan struct{}
	done    chan struct{}
	closing sync.Once
}

// New returns a Dashboard showing src.
func New(src Source, opts ...Option) (*Dashboard, error) {
	if src == nil {
		return nil, fmt.Errorf("%w: nil Source", ErrInvalidOption)
	}
	o := options{interval: time.Second, maxClients: 64}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	d := &Dashboard{src: src, o: o, reg: prometheus.NewRegistry(),
		clients: make(chan struct{}, o.maxClients), done: make(chan struct{})}
	if err := d.reg.Register(metrics{src}); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	return d, nil
}

// Close ends the event streams being served, and makes new ones end at
// once.
func (d *Dashboard) Close() error {
	d.closing.Do(func() { close(d.done) })
	return nil
}

// Content-Security-Policy of every response: nothing but the dashboard's
// own script, styles and API.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler returns the dashboard's HTTP handler (see the package doc for
// its paths).
func (d *Dashboard) Handler() http.Handler {
	static, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(static)
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", d.auth(files))
	mux.Handle("GET /app.js", files)
	mux.Handle("GET /style.css", files)
	mux.Handle("GET /api/state", d.auth(http.HandlerFunc(d.state)))
	mux.Handle("GET /api/events", d.auth(http.HandlerFunc(d.events)))
	mux.Handle("GET /metrics", d.auth(promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{})))
	mux.HandleFunc("GET /healthz", d.healthz)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if d.o.secret == "" && !loopbackHost(r.Host) {
			http.Error(w, "dashboard: without a secret, only loopback host names are served", http.StatusForbidden)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

const cookieName = "par_token"

// auth lets a request through when no secret is set or when it presents
// it; a valid ?token= on a page request becomes a cookie.
func (d *Dashboard) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.o.secret == "" {
			next.ServeHTTP(w, r)
			return
		}
		if tok := r.URL.Query().Get("token"); tok != "" && d.valid(tok) {
			http.SetCookie(w, &http.Cookie{Name: cookieName, Value: tok, Path: "/", HttpOnly: true,
				SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
			if r.URL.Path == "/" {
				http.Redirect(w, r, "/", http.StatusSeeOther)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && d.valid(bearer) {
			next.ServeHTTP(w, r)
			return
		}
		if c, err := r.Cookie(cookieName); err == nil && d.valid(c.Value) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="par"`)
		http.Error(w, "dashboard: the secret is required (Authorization: Bearer, or ?token= once)", http.StatusUnauthorized)
	})
}

func (d *Dashboard) valid(s string) bool {
	return subtle.ConstantTimeCompare([]byte(s), []byte(d.o.secret)) == 1
}

func (d *Dashboard) snapshot(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := d.src.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return json.Marshal(s)
}

func (d *Dashboard) state(w http.ResponseWriter, r *http.Request) {
	data, err := d.snapshot(r.Context())
	if err != nil {
		http.Error(w, "dashboard: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(data)
}

// events sends a Snapshot at once and then every Interval, until the
// client goes or the Dashboard is closed.
func (d *Dashboard) events(w http.ResponseWriter, r *http.Request) {
	select {
	case d.clients <- struct{}{}:
		defer func() { <-d.clients }()
	default:
		http.Error(w, "dashboard: too many pages open", http.StatusServiceUnavailable)
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	t := time.NewTicker(d.o.interval)
	defer t.Stop()
	for {
		data, err := d.snapshot(r.Context())
		if err != nil {
			data, _ = json.Marshal(map[string]string{"error": err.Error()})
		}
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-d.done:
			return
		case <-t.C:
		}
	}
}

func (d *Dashboard) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if _, err := d.src.Snapshot(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "unavailable")
		return
	}
	fmt.Fprintln(w, "ok")
}

// Listen opens addr ("host:port"; port 0 picks a free one) for the
// dashboard under par server's rule: loopback unless a secret is given.
// An empty host means every address, so it needs a secret too.
func Listen(addr, secret string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: address %q: %v", ErrInvalidOption, addr, err)
	}
	if secret == "" && !loopbackHost(host) {
		return nil, fmt.Errorf("%w: %s (give a secret, or listen on 127.0.0.1)", ErrInsecure, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	return ln, nil
}

// loopbackHost reports whether host (with or without a port) names the
// loopback interface.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Serve serves the dashboard of the cluster nc is connected to on ln until
// ctx ends, then closes ln and returns nil (or the error that stopped it
// sooner). Get ln from Listen, and give the same secret in opts.
func Serve(ctx context.Context, ln net.Listener, nc *nats.Conn, opts ...Option) error {
	col, err := Watch(nc)
	if err != nil {
		ln.Close()
		return err
	}
	defer col.Close()
	d, err := New(col, opts...)
	if err != nil {
		ln.Close()
		return err
	}
	return d.Serve(ctx, ln)
}

// Serve serves d on ln until ctx ends, then closes d and ln and returns
// nil (or the error that stopped it sooner).
func (d *Dashboard) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		d.Close()
		return err
	case <-ctx.Done():
	}
	d.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	return err
}
