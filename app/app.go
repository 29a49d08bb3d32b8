// Package app assembles a running lockbox server from its configuration:
// the store, the service, the HTTP API, the deadline sweeper and the
// listener. `lockbox serve`, `lockbox demo` and end-to-end tests share it.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/cedar"
	"github.com/lockbox-dev/lockbox/grant"
	"github.com/lockbox-dev/lockbox/httpapi"
	"github.com/lockbox-dev/lockbox/internal/clientaddr"
	"github.com/lockbox-dev/lockbox/notify"
	"github.com/lockbox-dev/lockbox/postgres"
	"github.com/lockbox-dev/lockbox/sqlite"
	"github.com/lockbox-dev/lockbox/web"
)

// Version is the program's version, set at build time.
var Version = "dev"

// Config is the configuration of one server. Every field has a flag and a
// LOCKBOX_* environment twin in `lockbox serve`.
type Config struct {
	Addr        string // listen address, default 127.0.0.1:8080
	DataDir     string // SQLite database directory
	DatabaseURL string // postgres://…; replicas share it
	// Throttle are the failure budgets of sign-ins and one-time codes,
	// one set for the API and the portal, counted in the database so that
	// replicas share them (zero fields: lockbox.DefaultThrottle).
	Throttle lockbox.ThrottleLimits
	// TrustedProxies are the proxies (addresses or CIDR prefixes) whose
	// X-Forwarded-For names the client; from any other peer the header is
	// ignored. The throttle, the API and the portal key on the result.
	TrustedProxies []string
	// PasswordHashers bounds the argon2id hashes running at once (0: 2 ×
	// GOMAXPROCS), which bounds the memory sign-ins can take.
	PasswordHashers int

	PublicURL string // used in links; default http://<addr>
	// GatewayURL is where engineers reach the enforcement gateway (lockbox
	// gateway) with their grant tokens, shown in the portal's curl example;
	// empty shows a placeholder.
	GatewayURL string
	// PolicyFile is the JIT policy file (Cedar); empty runs the embedded
	// default policy (cedar.DefaultText).
	PolicyFile string
	// InternalGroup tailors the default policy: the operator group whose
	// approval it asks for (default support-leads), "-" for none. It cannot
	// be combined with PolicyFile, whose permits name their approvers.
	InternalGroup  string
	BootstrapToken string
	// LogOrigin names the tenant logs in their checkpoints
	// (<origin>/tenants/<id>); default: the public URL's host and path.
	LogOrigin string
	// SecretKey (base64, 32 bytes) encrypts the signing keys kept in the
	// database. Required with PostgreSQL; SQLite creates secret.key in
	// DataDir when it is empty.
	SecretKey string
	TLSCert   string
	TLSKey    string
	// SweepInterval is how often passed deadlines are applied in the
	// background (default 1s). Correctness does not depend on it.
	SweepInterval time.Duration
	// InvitationTTL is how long an invitation link is valid (default 72h).
	InvitationTTL time.Duration
	Logger        *slog.Logger
	Clock         lockbox.Clock
	Argon2        *lockbox.Argon2Params
	// Notify configures e-mail and webhook notifications (notify.go).
	Notify NotifyConfig
}

// Server is a configured, not yet listening, lockbox server.
type Server struct {
	Config   Config
	Service  *lockbox.Service
	API      *httpapi.Server
	Web      *web.Handler // the HTML portal, at every path the API does not own
	Metrics  *httpapi.Metrics
	store    lockbox.Store
	logStore LogStore
	policy   *cedar.Holder
	keys     *grant.EncryptedStore
	ring     *grant.Keyring
	log      *slog.Logger

	// Notifier delivers the notification outbox; Mailer is its mailer
	// (a *notify.LogMailer without --smtp-url).
	Notifier *notify.Worker
	Mailer   notify.Mailer

	mu       sync.Mutex
	listener net.Listener
	http     *http.Server
}

// New opens the store (applying migrations), bootstraps the first operator
// admin when asked, and builds the service and API.
func New(ctx context.Context, c Config) (*Server, error) {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = time.Second
	}
	if c.Notify.ReminderInterval <= 0 {
		c.Notify.ReminderInterval = 30 * time.Second
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if err := checkGatewayURL(c.GatewayURL); err != nil {
		return nil, err
	}
	addrs, err := clientaddr.New(c.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	now := time.Now
	if c.Clock != nil {
		now = c.Clock
	}
	// An invalid policy stops the start before anything is opened.
	policy, err := newPolicy(c, now)
	if err != nil {
		return nil, err
	}
	store, err := OpenStore(ctx, c)
	if err != nil {
		return nil, err
	}
	// One cleanup for every failure from here on: the store is the
	// server's once New returns it, and closed if New fails.
	started := false
	defer func() {
		if !started {
			store.Close()
		}
	}()
	m := httpapi.NewMetrics()
	key, err := loadSecretKey(c)
	if err != nil {
		return nil, err
	}
	keys, ring, err := newGrants(ctx, store, key, now())
	if err != nil {
		return nil, err
	}
	notifier, mailer, err := newNotifier(c, store, m, webhookBox{key})
	if err != nil {
		return nil, err
	}
	onCommit := func(events []*lockbox.Event) {
		m.ObserveEvents(events)
		for _, e := range events {
			if e.Type.IsRequest() {
				notifier.Wake() // only request events enqueue notifications
				break
			}
		}
	}
	svc := lockbox.NewService(lockbox.Config{
		Store: store, Policy: policy, Clock: c.Clock, Logger: c.Logger, Argon2: c.Argon2,
		OnCommit: onCommit, Issuer: &grant.Issuer{Keys: ring, URL: c.publicURL()},
		Notify: lockbox.NotifyConfig{OperatorWebhooks: c.operatorWebhookURLs()}, SecretBox: webhookBox{key},
		InvitationTTL: c.InvitationTTL,
		Throttle:      c.Throttle, PasswordHashers: c.PasswordHashers,
	})
	// TOTP seeds stored in clear before they were sealed are sealed now
	// (the key is not available to the SQL migrations). Idempotent.
	if n, err := svc.SealTOTPSecrets(ctx); err != nil {
		return nil, fmt.Errorf("sealing TOTP secrets: %w", err)
	} else if n > 0 {
		c.Logger.Info("sealed the TOTP secrets stored in clear", "users", n)
	}
	if c.BootstrapToken != "" {
		created, err := svc.Bootstrap(ctx, c.BootstrapToken)
		if err != nil {
			return nil, fmt.Errorf("bootstrap: %w", err)
		}
		if created {
			c.Logger.Info("bootstrap: created the first operator admin; its API token is LOCKBOX_BOOTSTRAP_TOKEN")
		}
	}
	logHandler, err := newLogHandler(ctx, c, store, key)
	if err != nil {
		return nil, err
	}
	api := httpapi.New(svc, httpapi.Options{Logger: c.Logger, Metrics: m, Version: Version, Log: logHandler, JWKS: grant.JWKSHandler(ring),
		ClientAddr: addrs})
	portal, err := newPortal(svc, c, logHandler, addrs)
	if err != nil {
		return nil, err
	}
	started = true
	return &Server{Config: c, Service: svc, API: api, Web: portal, Metrics: m, store: store, policy: policy, logStore: logHandler.Storage.(LogStore), keys: keys, ring: ring, log: c.Logger,
		Notifier: notifier, Mailer: mailer}, nil
}

// newPolicy loads the JIT policy: the policy file, or the default policy
// tailored by InternalGroup.
func newPolicy(c Config, now func() time.Time) (*cedar.Holder, error) {
	if c.PolicyFile != "" {
		if c.InternalGroup != "" {
			return nil, errors.New("--internal-approval-group tailors the default policy only: with --policy, name the approvers in the file (@approvers)")
		}
		h, err := cedar.FileHolder(c.PolicyFile, now)
		if err != nil {
			return nil, fmt.Errorf("--policy: %w", err)
		}
		return h, nil
	}
	h, err := cedar.DefaultHolder(c.InternalGroup, now)
	if err != nil {
		return nil, err
	}
	return h, nil
}

// ReloadPolicyOn reloads the JIT policy each time a signal arrives on sig
// (SIGHUP), until ctx ends. A failed reload is logged with every problem
// and the running policy stays.
func (s *Server) ReloadPolicyOn(ctx context.Context, sig <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-sig:
			_, _ = s.Service.ReloadPolicy(ctx, nil) // the service logs the outcome
		}
	}
}

// OpenStore opens the configured store: PostgreSQL when DatabaseURL is set,
// else SQLite in DataDir. Both apply their migrations.
func OpenStore(ctx context.Context, c Config) (lockbox.Store, error) {
	if c.DatabaseURL != "" {
		s, err := postgres.Open(ctx, c.DatabaseURL, postgres.WithLogger(c.Logger))
		if err != nil {
			return nil, fmt.Errorf("--database-url: %w", err)
		}
		return s, nil
	}
	if c.DataDir == "" {
		return nil, errors.New("--data-dir or --database-url is required")
	}
	s, err := sqlite.Open(ctx, filepath.Join(c.DataDir, "lockbox.db"))
	if err != nil {
		return nil, fmt.Errorf("opening the database in %s: %w", c.DataDir, err)
	}
	return s, nil
}

// Listen opens the listener; Addr then reports the bound address.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.Config.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.Config.Addr, err)
	}
	s.mu.Lock()
	s.listener = ln
	s.mu.Unlock()
	return nil
}

// URL is the base URL the server answers on.
func (s *Server) URL() string {
	scheme := "http"
	if s.Config.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + s.listener.Addr().String()
}

// Serve serves until ctx ends, then shuts down gracefully. The deadline
// sweeper runs alongside.
func (s *Server) Serve(ctx context.Context) error {
	if s.listener == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	hs := &http.Server{
		Handler:           http.MaxBytesHandler(s.Handler(), httpapi.MaxBodyBytes+4096),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if s.Config.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.Config.TLSCert, s.Config.TLSKey)
		if err != nil {
			return fmt.Errorf("loading --tls-cert and --tls-key: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	hs.RegisterOnShutdown(s.API.CloseStreams)
	s.mu.Lock()
	s.http = hs
	s.mu.Unlock()

	sweepCtx, stopSweep := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(5)
	go func() {
		defer wg.Done()
		// Every replica delivers; claims keep them off each other's rows.
		s.Notifier.Run(sweepCtx)
	}()
	go func() {
		defer wg.Done()
		_ = s.store.RunExclusive(sweepCtx, "key-rotation", s.maintainKeys)
	}()
	go func() {
		defer wg.Done()
		s.reloadKeys(sweepCtx)
	}()
	go func() {
		defer wg.Done()
		// One replica sweeps at a time; when it dies, another takes over.
		_ = s.store.RunExclusive(sweepCtx, "deadline-sweeper", s.sweep)
	}()
	go func() {
		defer wg.Done()
		_ = s.store.RunExclusive(sweepCtx, "log-sequencer", s.sequence)
	}()

	errc := make(chan error, 1)
	go func() {
		var err error
		if hs.TLSConfig != nil {
			err = hs.ServeTLS(s.listener, "", "")
		} else {
			err = hs.Serve(s.listener)
		}
		errc <- err
	}()
	var err error
	select {
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = hs.Shutdown(shutdownCtx)
		cancel()
		<-errc
	case err = <-errc:
	}
	stopSweep()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// sweep applies passed deadlines every SweepInterval.
func (s *Server) sweep(ctx context.Context) {
	t := time.NewTicker(s.Config.SweepInterval)
	defer t.Stop()
	var lastRemind time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := s.Service.SettleDue(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("deadline sweep failed", "err", err)
		}
		if n > 0 {
			s.Metrics.ObserveSettled(n)
			s.log.Info("deadlines applied", "requests", n)
		}
		// Pacing is wall-clock time, like the ticker's; what is due is
		// decided on the service's clock.
		if s.Config.Notify.ReminderBefore >= 0 && time.Since(lastRemind) >= s.Config.Notify.ReminderInterval {
			lastRemind = time.Now()
			s.remind(ctx)
		}
	}
}

// Close closes the store.
func (s *Server) Close() error { return s.store.Close() }

// EnsureDir creates a private data directory.
func EnsureDir(dir string) error {
	return os.MkdirAll(dir, 0o700)
}
