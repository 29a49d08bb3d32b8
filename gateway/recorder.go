package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lockbox-dev/lockbox/internal/backoff"
)

// Sink receives access records for the tenant logs. Ship returns nil only
// when every record is durably committed (at the server: in the tenant's
// log). It must be idempotent per record id: after a timeout the same
// records may be shipped again. HTTPSink is the implementation that posts to
// the lockbox server; a service that embeds the lockbox store could ship in
// process.
type Sink interface {
	Ship(ctx context.Context, records []AccessRecord) error
}

// AccessRecorder is what enforcement needs from a Recorder.
type AccessRecorder interface {
	// Record returns nil only once rec is durable. Enforcement waits for it
	// before letting an access through.
	Record(ctx context.Context, rec AccessRecord) error
	// RecordAsync queues rec to be made durable with the next batch and
	// returns without waiting (it blocks only while the queue is full). It
	// is for records no decision depends on — refusals and completions —
	// so that a connection is not held for a commit after its response.
	// Failures are logged.
	RecordAsync(rec AccessRecord)
}

// ErrCannotRecord is returned by Record when neither the sink nor the spool
// could make a record durable; the access it describes must be refused.
var ErrCannotRecord = errors.New("cannot record the access")

// ErrRecorderClosed is returned by Record after Close.
var ErrRecorderClosed = errors.New("recorder closed")

// RecorderConfig configures a Recorder.
type RecorderConfig struct {
	// Sink ships records to the server.
	Sink Sink
	// Spool, if not nil, takes batches the sink cannot (see OpenSpool);
	// without one, a sink failure fails the records, and the accesses are
	// refused.
	Spool *Spool
	// MaxBatch bounds the records of one shipment (0: 256).
	MaxBatch int
	// ShipTimeout bounds one shipment before its batch goes to the spool
	// (0: 3 s). While the spool holds records, new batches go straight to
	// it, so a dead server costs this once, not per access.
	ShipTimeout time.Duration
	// SpoolFirst makes the spool, not the server, where a record first
	// becomes durable: each batch is appended and fsynced locally (one
	// write and one fsync for all the accesses waiting), the access
	// proceeds, and the drainer ships the spool to the server in order.
	// docs/design.md §5 allows both; the local spool saves the server round trip
	// and commit on the path of every access, at the cost of the tenant's
	// log trailing the accesses by the shipping delay. If the spool cannot
	// be written, records go to the server directly; if that fails too, the
	// access is refused.
	SpoolFirst bool
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Recorder makes access records durable with group commit: Record calls
// that arrive while a shipment is in flight wait together and leave as the
// next shipment, so concurrent accesses share one round trip and one commit
// at the server instead of paying one each. When the sink fails, the batch
// is appended to the spool (one write and one fsync per batch) and a
// background drainer ships the spool, in order, once the sink answers
// again.
type Recorder struct {
	cfg   RecorderConfig
	queue chan *pending
	stop  chan struct{}
	// exited closes when commitLoop has returned: nothing will answer
	// records still queued.
	exited chan struct{}
	wake   chan struct{}
	done   sync.WaitGroup
	close  sync.Once

	shipments atomic.Int64 // successful Ship calls, direct and from the spool
	shipped   atomic.Int64 // records in them
	spooled   atomic.Int64 // records appended to the spool
}

type pending struct {
	rec  AccessRecord
	done chan error
}

// NewRecorder starts a Recorder. Close it to stop its goroutines.
func NewRecorder(cfg RecorderConfig) (*Recorder, error) {
	if cfg.Sink == nil {
		return nil, fmt.Errorf("gateway: a recorder needs a sink")
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 256
	}
	if cfg.ShipTimeout <= 0 {
		cfg.ShipTimeout = 3 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &Recorder{cfg: cfg, queue: make(chan *pending, 4*cfg.MaxBatch), stop: make(chan struct{}), exited: make(chan struct{}), wake: make(chan struct{}, 1)}
	r.done.Add(1)
	go r.commitLoop()
	if cfg.Spool != nil {
		r.done.Add(1)
		go r.drainLoop()
		if cfg.Spool.Pending() > 0 {
			r.poke() // records left by a previous run
		}
	}
	return r, nil
}

// Record makes rec durable — acknowledged by the sink, or fsynced to the
// spool — and only then returns nil. Any error means the record may not
// survive, and the access it describes must not proceed.
func (r *Recorder) Record(ctx context.Context, rec AccessRecord) error {
	p := &pending{rec: rec, done: make(chan error, 1)}
	select {
	case r.queue <- p:
	case <-r.stop:
		return ErrRecorderClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-p.done:
		return err
	case <-r.exited:
		select {
		case err := <-p.done:
			return err
		default:
			return ErrRecorderClosed
		}
	case <-ctx.Done():
		// The record may still be committed; the caller refuses anyway.
		return ctx.Err()
	}
}

// RecordAsync queues rec without waiting for it to be durable.
func (r *Recorder) RecordAsync(rec AccessRecord) {
	select {
	case r.queue <- &pending{rec: rec, done: make(chan error, 1)}:
	case <-r.stop:
		r.cfg.Logger.Error("gateway: recorder closed; access record dropped", "id", rec.ID, "phase", rec.Phase, "reason", rec.Reason)
	}
}

// commitLoop takes whatever is queued — one record when idle, everything
// that piled up during the previous commit when busy — and commits it.
func (r *Recorder) commitLoop() {
	defer r.done.Done()
	defer close(r.exited)
	for {
		var first *pending
		select {
		case first = <-r.queue:
		case <-r.stop:
			r.flushQueued()
			return
		}
		batch := []*pending{first}
	collect:
		for len(batch) < r.cfg.MaxBatch {
			select {
			case p := <-r.queue:
				batch = append(batch, p)
			default:
				break collect
			}
		}
		recs := make([]AccessRecord, len(batch))
		for i, p := range batch {
			recs[i] = p.rec
		}
		err := r.commit(recs)
		for _, p := range batch {
			p.done <- err
		}
	}
}

// flushQueued commits what is still queued at Close — completions of
// requests that finished during shutdown — so they are not lost.
func (r *Recorder) flushQueued() {
	for {
		var batch []*pending
	collect:
		for len(batch) < r.cfg.MaxBatch {
			select {
			case p := <-r.queue:
				batch = append(batch, p)
			default:
				break collect
			}
		}
		if len(batch) == 0 {
			return
		}
		recs := make([]AccessRecord, len(batch))
		for i, p := range batch {
			recs[i] = p.rec
		}
		err := r.commit(recs)
		for _, p := range batch {
			p.done <- err
		}
	}
}

// commit ships recs or spools them. While the spool holds records, new ones
// join it, so the server receives records in the order they were taken.
func (r *Recorder) commit(recs []AccessRecord) error {
	sp := r.cfg.Spool
	if sp != nil && r.cfg.SpoolFirst {
		spoolErr := sp.Append(recs)
		if spoolErr == nil {
			r.spooled.Add(int64(len(recs)))
			r.poke()
			return nil
		}
		r.cfg.Logger.Warn("gateway: cannot write the spool; shipping to the server directly", "error", spoolErr)
		if shipErr := r.ship(recs); shipErr != nil {
			r.cfg.Logger.Error("gateway: cannot record accesses: refusing them", "sink_error", shipErr, "spool_error", spoolErr)
			return fmt.Errorf("%w: spool: %v; server: %v", ErrCannotRecord, spoolErr, shipErr)
		}
		return nil
	}
	var shipErr error
	if sp == nil || sp.Pending() == 0 {
		if shipErr = r.ship(recs); shipErr == nil {
			return nil
		}
		if sp == nil {
			return fmt.Errorf("%w: %v", ErrCannotRecord, shipErr)
		}
		r.cfg.Logger.Warn("gateway: the server does not take access records; spooling them", "error", shipErr)
	}
	spoolErr := sp.Append(recs)
	if spoolErr == nil {
		r.spooled.Add(int64(len(recs)))
		r.poke()
		return nil
	}
	if shipErr == nil {
		// The spool had a backlog and now fails: the server may be back;
		// out of order beats refusing.
		if shipErr = r.ship(recs); shipErr == nil {
			return nil
		}
	}
	r.cfg.Logger.Error("gateway: cannot record accesses: refusing them", "sink_error", shipErr, "spool_error", spoolErr)
	return fmt.Errorf("%w: server: %v; spool: %v", ErrCannotRecord, shipErr, spoolErr)
}

func (r *Recorder) ship(recs []AccessRecord) error {
	// A spool written by an older gateway may hold per-request refusals of
	// anonymous requests for a tenant, which the server no longer takes
	// (invariant 13): they leave the spool unshipped, counted in the log.
	if kept := slices.DeleteFunc(slices.Clone(recs), func(rec AccessRecord) bool { return rec.Unverified() && rec.TenantID != "" }); len(kept) != len(recs) {
		r.cfg.Logger.Warn("gateway: dropped spooled refusals of requests without a verified grant token; no tenant's log takes them", "dropped", len(recs)-len(kept))
		if recs = kept; len(recs) == 0 {
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.ShipTimeout)
	defer cancel()
	if err := r.cfg.Sink.Ship(ctx, recs); err != nil {
		return err
	}
	r.shipments.Add(1)
	r.shipped.Add(int64(len(recs)))
	return nil
}

func (r *Recorder) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// drainLoop ships the spool in order. While the sink fails it retries on a
// backoff timer only, not on every new batch, so a struggling server is not
// hammered by a busy gateway.
func (r *Recorder) drainLoop() {
	defer r.done.Done()
	pause := backoff.Backoff{Policy: backoff.Policy{Min: 100 * time.Millisecond, Max: 5 * time.Second}}
	var retry <-chan time.Time
	for {
		select {
		case <-r.stop:
			return
		case <-r.wake:
			if retry != nil {
				continue // backing off
			}
		case <-retry:
		}
		retry = nil
		for r.cfg.Spool.Pending() > 0 {
			recs, next, err := r.cfg.Spool.Next(r.cfg.MaxBatch)
			if err == nil {
				err = r.ship(recs)
			}
			if err == nil {
				err = r.cfg.Spool.Advance(next)
			}
			if err != nil {
				r.cfg.Logger.Debug("gateway: spool not shipped yet", "pending_bytes", r.cfg.Spool.Pending(), "error", err)
				retry = time.After(pause.Next())
				break
			}
			pause.Reset()
			select {
			case <-r.stop:
				return
			default:
			}
		}
	}
}

// Close stops the recorder after committing what is queued; spooled records
// stay in the spool for the next run. It does not close the spool.
func (r *Recorder) Close() error {
	r.close.Do(func() { close(r.stop) })
	r.done.Wait()
	return nil
}

// RecorderStats are counters for tests, metrics and the benchmark.
type RecorderStats struct {
	Shipments int64 // successful Ship calls
	Shipped   int64 // records in them
	Spooled   int64 // records written to the spool
	Pending   int64 // spool bytes not yet shipped
}

// Stats returns the counters.
func (r *Recorder) Stats() RecorderStats {
	s := RecorderStats{Shipments: r.shipments.Load(), Shipped: r.shipped.Load(), Spooled: r.spooled.Load()}
	if r.cfg.Spool != nil {
		s.Pending = r.cfg.Spool.Pending()
	}
	return s
}
