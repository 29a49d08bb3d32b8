package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/tlog"
)

// LogStore is what the tenant logs need of a store: the tree storage of
// package tlog, and the logs whose committed events are not yet in their
// tree. Both stores implement it.
type LogStore interface {
	tlog.Storage
	PendingLogs(ctx context.Context) ([]string, error)
}

// logSigningKey is the secret holding the checkpoint signing key.
const logSigningKey = "log-signing-key"

// newLogHandler loads (or, on first start, creates) the checkpoint signing
// key and returns the handler of the log endpoints.
func newLogHandler(ctx context.Context, c Config, store lockbox.Store, key *secretKey) (*tlog.Handler, error) {
	ls, ok := store.(LogStore)
	if !ok {
		return nil, fmt.Errorf("the %T store keeps no Merkle trees", store)
	}
	origin := c.LogOrigin
	if origin == "" {
		var err error
		if origin, err = tlog.LogOrigin(c.publicURL()); err != nil {
			return nil, fmt.Errorf("--log-origin: %w", err)
		}
	}
	skey, err := loadOrCreateSecret(ctx, store, key, logSigningKey, func() ([]byte, error) {
		s, _, err := tlog.GenerateKey(origin)
		return []byte(s), err
	})
	if err != nil {
		return nil, fmt.Errorf("the log signing key: %w", err)
	}
	signer, err := tlog.NewSigner(string(skey))
	if err != nil {
		return nil, fmt.Errorf("the log signing key: %w", err)
	}
	if signer.Name() != origin {
		// The key names the origin it was made for; customers' verifiers
		// pin it. A new origin needs a deliberate key rotation.
		c.Logger.Warn("the log signing key was made for another origin; checkpoints keep the key's origin",
			"key_origin", signer.Name(), "configured_origin", origin)
	}
	vkey, err := tlog.VerifierKey(string(skey))
	if err != nil {
		return nil, err
	}
	return &tlog.Handler{Storage: ls, Signer: signer, VerifierKey: vkey, Logger: c.Logger}, nil
}

// publicURL is the URL users reach the server at.
func (c Config) publicURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	scheme := "http"
	if c.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + c.Addr
}

// LogStore returns the store behind the tenant logs' trees.
func (s *Server) LogStore() LogStore { return s.logStore }

// integrateBatch is how many leaves one sequencer step adds to a tree. On
// SQLite a step holds the write lock (about 40 ms for 4096 leaves), so it
// stays moderate.
const integrateBatch = 2048

// IntegrateLogs brings the Merkle tree of every log with new events up to
// date. The sequencer runs it; it is safe to run anywhere at any time (tree
// heads change by compare-and-set).
func (s *Server) IntegrateLogs(ctx context.Context) error {
	logs, err := s.logStore.PendingLogs(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, l := range logs {
		errs = append(errs, s.integrate(ctx, l))
	}
	return errors.Join(errs...)
}

// integrate brings one log's tree up to date.
func (s *Server) integrate(ctx context.Context, log string) error {
	var size uint64
	for {
		head, err := tlog.Integrate(ctx, s.logStore, log, integrateBatch)
		if errors.Is(err, tlog.ErrHeadMoved) {
			continue // another sequencer integrated meanwhile: go on from its head
		}
		if err != nil {
			return fmt.Errorf("integrating the log of %s: %w", log, err)
		}
		if head.Size == size {
			return nil
		}
		size = head.Size
	}
}

// sequence keeps the trees of the logs up to date while this replica holds
// the sequencer lease: at once for logs a notice names, and every
// few seconds (and after lost notices) for every log.
func (s *Server) sequence(ctx context.Context) {
	notices, err := s.store.Watch(ctx)
	if err != nil {
		s.log.Error("log sequencer: watching events failed", "err", err)
		return
	}
	full := time.NewTicker(5 * time.Second)
	defer full.Stop()
	fail := func(err error) {
		if err != nil && ctx.Err() == nil {
			s.log.Error("log sequencer", "err", err)
		}
	}
	fail(s.IntegrateLogs(ctx))
	for {
		dirty := map[string]bool{}
		select {
		case <-ctx.Done():
			return
		case <-full.C:
			fail(s.IntegrateLogs(ctx))
			continue
		case n, ok := <-notices:
			if !ok {
				return
			}
			if n.Lost {
				fail(s.IntegrateLogs(ctx))
				continue
			}
			dirty[string(n.TenantID)] = true
		}
		// Take what else arrived, so a burst is integrated in one step.
	drain:
		for {
			select {
			case n, ok := <-notices:
				if !ok {
					break drain
				}
				dirty[string(n.TenantID)] = true
			default:
				break drain
			}
		}
		for l := range dirty {
			fail(s.integrate(ctx, l))
		}
	}
}
