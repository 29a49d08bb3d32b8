package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lockbox-dev/lockbox/grant"
)

// Defaults of Config.
const (
	DefaultClockSkew         = 2 * time.Second
	DefaultMaxBodyBytes      = 32 << 20
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 2 * time.Minute
	DefaultWriteTimeout      = 5 * time.Minute
	DefaultIdleTimeout       = 2 * time.Minute
	// DefaultMaxFeedStaleness: a gateway that has not heard from the
	// revocation feed (items, the server's 15 s heartbeats, polls) for
	// this long refuses every access, so one cut off from the server fails
	// closed within a minute instead of admitting a revoked grant until its
	// token expires.
	DefaultMaxFeedStaleness = 30 * time.Second
)

// Config configures the gateway of `lockbox gateway --listen ADDR --upstream
// URL --server URL --routes FILE` (token from LOCKBOX_TOKEN).
type Config struct {
	// Listen is the address to listen on (ListenAndServe).
	Listen string
	// Upstream is the protected service, such as http://127.0.0.1:9000.
	Upstream string
	// Server is the lockbox server's URL: JWKS, revocation feed and access
	// events are fetched from and posted to it.
	Server string
	// RoutesFile is the route table (YAML or JSON); Routes may be given
	// instead.
	RoutesFile string
	Routes     *Routes
	// APIToken authenticates the gateway to the server (a user with the
	// gateway role).
	APIToken string
	// SpoolDir holds the write-ahead spool of records the server has not
	// acknowledged. Empty disables the spool: accesses are then refused
	// whenever the server cannot take their records.
	SpoolDir string
	// SpoolMaxBytes bounds the spool (0: DefaultSpoolMaxBytes).
	SpoolMaxBytes int64
	// SpoolFirst makes a record durable in the local spool before the
	// access proceeds, and ships it to the server after (see
	// RecorderConfig.SpoolFirst). It needs SpoolDir.
	SpoolFirst bool
	// Name identifies the gateway in records (default: the host name).
	Name string
	// Issuer is the iss grant tokens must carry (default: Server, without a
	// trailing slash).
	Issuer string
	// ClockSkew tolerated on nbf/iat, never on exp (0: DefaultClockSkew;
	// negative: none).
	ClockSkew time.Duration
	// MaxTokenTTL is the longest token lifetime accepted, and how long ended
	// requests are remembered (0: grant.DefaultMaxTTL).
	MaxTokenTTL time.Duration
	// MaxFeedStaleness refuses every access when the revocation feed has
	// been silent that long (0: DefaultMaxFeedStaleness; negative: never,
	// relying on token expiry alone; see FeedConfig).
	MaxFeedStaleness time.Duration
	// SummaryInterval is how often refusals that came before any token
	// verified are summarized (0: DefaultSummaryInterval).
	SummaryInterval time.Duration
	// MaxBodyBytes bounds request bodies (0: DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Listener timeouts (0: the defaults above).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// ServerClient talks to the lockbox server (nil: a default client).
	ServerClient *http.Client
	// UpstreamTransport reaches the upstream (nil: UpstreamTransport()).
	UpstreamTransport http.RoundTripper
	// Sink overrides the HTTP sink (tests, benchmarks, in-process servers).
	Sink Sink
	// Metrics, if set, receives the gateway's Prometheus collectors.
	Metrics prometheus.Registerer
	Logger  *slog.Logger
}

// Server is the lockbox gateway: a reverse proxy that lets a request reach
// the upstream only after Middleware's checks and a durable record.
type Server struct {
	cfg      Config
	routes   *Routes
	keys     *grant.RemoteKeys
	feed     *Feed
	spool    *Spool
	recorder *Recorder
	enforcer *enforcer
	handler  http.Handler
	closer   sync.Once
}

// New checks cfg, loads the routes, opens the spool (recovering records a
// previous run left) and builds the gateway. It starts no network activity
// but the recorder's shipping of spooled records; Serve starts the rest.
func New(cfg Config) (*Server, error) {
	upstream, err := url.Parse(cfg.Upstream)
	if err != nil || (upstream.Scheme != "http" && upstream.Scheme != "https") || upstream.Host == "" {
		return nil, fmt.Errorf("gateway: upstream %q is not an http(s) URL", cfg.Upstream)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Server = strings.TrimRight(cfg.Server, "/")
	if cfg.Issuer == "" {
		cfg.Issuer = cfg.Server
	}
	switch {
	case cfg.ClockSkew == 0:
		cfg.ClockSkew = DefaultClockSkew
	case cfg.ClockSkew < 0:
		cfg.ClockSkew = 0
	}
	if cfg.MaxTokenTTL <= 0 {
		cfg.MaxTokenTTL = grant.DefaultMaxTTL
	}
	if cfg.MaxFeedStaleness == 0 {
		cfg.MaxFeedStaleness = DefaultMaxFeedStaleness
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Name == "" {
		cfg.Name, _ = os.Hostname()
	}
	if cfg.ServerClient == nil {
		cfg.ServerClient = &http.Client{}
	}
	if cfg.UpstreamTransport == nil {
		cfg.UpstreamTransport = UpstreamTransport()
	}
	s := &Server{cfg: cfg, routes: cfg.Routes}
	if s.routes == nil {
		if cfg.RoutesFile == "" {
			return nil, fmt.Errorf("gateway: a route file is required")
		}
		if s.routes, err = LoadRoutes(cfg.RoutesFile); err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
	}
	timeoutClient := &http.Client{Transport: cfg.ServerClient.Transport, Timeout: 10 * time.Second}
	if s.keys, err = grant.NewRemoteKeys(grant.RemoteKeysConfig{URL: cfg.Issuer + grant.JWKSPath, Client: timeoutClient, Logger: cfg.Logger}); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	verifier, err := grant.NewVerifier(grant.VerifierConfig{Issuer: cfg.Issuer, Keys: s.keys, Skew: cfg.ClockSkew, MaxTTL: cfg.MaxTokenTTL})
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if s.feed, err = NewFeed(FeedConfig{Server: cfg.Server, Token: cfg.APIToken, Client: cfg.ServerClient,
		MaxTokenTTL: cfg.MaxTokenTTL, Skew: cfg.ClockSkew, MaxStaleness: cfg.MaxFeedStaleness, Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	sink := cfg.Sink
	if sink == nil {
		if sink, err = NewHTTPSink(cfg.Server, cfg.APIToken, timeoutClient); err != nil {
			return nil, err
		}
	}
	if cfg.SpoolDir != "" {
		if s.spool, err = OpenSpool(cfg.SpoolDir, cfg.SpoolMaxBytes, cfg.Logger); err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
	}
	if cfg.SpoolFirst && cfg.SpoolDir == "" {
		return nil, errors.New("gateway: recording to the spool first needs a spool directory")
	}
	if s.recorder, err = NewRecorder(RecorderConfig{Sink: sink, Spool: s.spool, SpoolFirst: cfg.SpoolFirst, Logger: cfg.Logger}); err != nil {
		s.spool.closeIfOpen()
		return nil, err
	}
	var observe func(AccessRecord)
	if cfg.Metrics != nil {
		if observe, err = s.registerMetrics(cfg.Metrics); err != nil {
			s.Close()
			return nil, fmt.Errorf("gateway: metrics: %w", err)
		}
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.SetXForwarded()
			pr.Out.Header.Del("Authorization")
			StripLockboxHeaders(pr.Out.Header) // only the gateway speaks for lockbox
			if a, ok := FromContext(pr.In.Context()); ok {
				h := pr.Out.Header
				h.Set("X-Lockbox-Access-Id", a.RecordID)
				h.Set("X-Lockbox-Request-Id", string(a.Claims.Request))
				h.Set("X-Lockbox-Requester", string(a.Claims.Subject))
				h.Set("X-Lockbox-Tenant", string(a.Claims.Tenant))
			}
		},
		Transport:    cfg.UpstreamTransport,
		ErrorLog:     slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
		ErrorHandler: s.upstreamError,
	}
	proxied := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > cfg.MaxBodyBytes {
			if cw, ok := w.(*countingWriter); ok {
				cw.reason = ReasonTooLarge
			}
			writeError(w, http.StatusRequestEntityTooLarge, ReasonTooLarge, fmt.Sprintf("request bodies are limited to %d bytes", cfg.MaxBodyBytes))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, cfg.MaxBodyBytes)
		proxy.ServeHTTP(w, r)
	})
	s.enforcer = newEnforcer(MiddlewareConfig{
		Resolver: s.routes, Verifier: verifier, Revocations: s.feed, Recorder: s.recorder,
		Gateway: cfg.Name, Logger: cfg.Logger, Observe: observe, SummaryInterval: cfg.SummaryInterval,
	})
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.enforcer.serve(w, r, proxied) })
	return s, nil
}

// upstreamError answers for an upstream that failed, without a word of its
// internals (addresses, error texts): those go to the log only.
func (s *Server) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := http.StatusBadGateway, ReasonUpstream, "the protected service did not answer"
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		status, code, msg = http.StatusRequestEntityTooLarge, ReasonTooLarge, fmt.Sprintf("request bodies are limited to %d bytes", s.cfg.MaxBodyBytes)
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		code, msg = ReasonUpstream, "the client went away"
	}
	s.cfg.Logger.Warn("gateway: upstream request failed", "method", r.Method, "path", r.URL.EscapedPath(), "error", err)
	if cw, ok := w.(*countingWriter); ok {
		cw.reason = code
	}
	writeError(w, status, code, msg)
}

// Feed is the gateway's revocation feed.
func (s *Server) Feed() *Feed { return s.feed }

// Recorder is the gateway's recorder.
func (s *Server) Recorder() *Recorder { return s.recorder }

// Ready reports whether the gateway can decide: the revocation feed is
// current. (Keys are fetched on demand; records fall back to the spool.)
func (s *Server) Ready() error { return s.feed.Ready() }

// HealthHandler serves /healthz (the process is up) and /readyz (Ready), for
// an admin listener: the proxy listener has no paths of its own, so that it
// never shadows the upstream's.
func (s *Server) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := s.Ready(); err != nil {
			writeError(w, http.StatusServiceUnavailable, ReasonFeedUnavailable, err.Error())
			return
		}
		w.Write([]byte("ready\n"))
	})
	return mux
}

// Serve follows the revocation feed, keeps the JWKS fresh and serves ln until
// ctx ends; then it stops accepting, lets requests in flight finish (10 s at
// most) and closes the gateway. Spooled records stay for the next run.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	feedDone := make(chan struct{})
	go func() {
		defer close(feedDone)
		_ = s.feed.Run(ctx)
	}()
	keysDone := make(chan struct{})
	go func() {
		defer close(keysDone)
		s.keys.Run(ctx)
	}()
	summaryDone := make(chan struct{})
	go func() {
		defer close(summaryDone)
		tick := time.NewTicker(max(s.enforcer.SummaryInterval/4, 10*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				s.enforcer.summarize(false)
			}
		}
	}()
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: orDuration(s.cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       orDuration(s.cfg.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      orDuration(s.cfg.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       orDuration(s.cfg.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		shutdown, stop := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = srv.Shutdown(shutdown)
		stop()
		<-errc
	}
	cancel()
	<-feedDone
	<-keysDone
	<-summaryDone
	s.enforcer.summarize(true) // the last interval's, before the recorder closes
	s.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Close stops the recorder and releases the spool. Serve calls it.
func (s *Server) Close() error {
	s.closer.Do(func() {
		s.recorder.Close()
		s.spool.closeIfOpen()
	})
	return nil
}

// UpstreamTransport is the gateway's default transport to its upstream:
// http.DefaultTransport with a pool sized for one busy host. The default
// keeps 2 idle connections per host, so under concurrency a proxy opens and
// closes a TCP connection for most requests.
func UpstreamTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	return t
}

func orDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// registerMetrics registers the gateway's collectors and returns the hook
// that counts decisions.
func (s *Server) registerMetrics(reg prometheus.Registerer) (func(AccessRecord), error) {
	accesses := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lockbox_gateway_accesses_total",
		Help: "Access decisions, by decision and reason.",
	}, []string{"decision", "reason"})
	unverified := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lockbox_gateway_unverified_refusals_total",
		Help: "Requests refused before any grant token verified (no route, no token, forged, expired, wrong audience…), by reason. They are in no tenant's log: counted here and summarized in the operator's system log.",
	}, []string{"reason"})
	collectors := []prometheus.Collector{
		accesses, unverified,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "lockbox_gateway_record_shipments_total",
			Help: "Batches of access records acknowledged by the server.",
		}, func() float64 { return float64(s.recorder.Stats().Shipments) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "lockbox_gateway_records_spooled_total",
			Help: "Access records written to the local spool because the server did not take them.",
		}, func() float64 { return float64(s.recorder.Stats().Spooled) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "lockbox_gateway_spool_pending_bytes",
			Help: "Bytes of spooled access records not yet shipped.",
		}, func() float64 { return float64(s.recorder.Stats().Pending) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "lockbox_gateway_revocations_known",
			Help: "Ended requests remembered from the revocation feed.",
		}, func() float64 { return float64(s.feed.Len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "lockbox_gateway_feed_last_contact_timestamp_seconds",
			Help: "When the revocation feed was last heard from.",
		}, func() float64 { return float64(s.feed.LastContact().UnixNano()) / 1e9 }),
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return func(rec AccessRecord) {
		if rec.Phase == PhaseDecision {
			accesses.WithLabelValues(string(rec.Decision), rec.Reason).Inc()
			if rec.Unverified() {
				unverified.WithLabelValues(rec.Reason).Inc()
			}
		}
	}, nil
}
