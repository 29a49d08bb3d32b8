package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// Timing of leases.
const (
	// leasePoll is how often a replica waiting for a lease tries to take
	// it: a survivor takes over within about this long after the holder's
	// session ends.
	leasePoll = time.Second
	// leaseCheck is how often the holder checks that its session, and so
	// its lock, is still there.
	leaseCheck = time.Second
)

// errClosed ends what runs on a Store when it is closed.
var errClosed = errors.New("postgres: the store was closed")

// RunExclusive implements lockbox.Store with a session-level advisory lock
// on a key derived from the schema and name, held on a connection of its
// own. While the lock is held fn runs; every leaseCheck the connection is
// checked, and when it fails fn's context is canceled at once: the session
// is gone, and PostgreSQL released its lock for another replica to take.
// RunExclusive then tries to take the lease again. Replicas that do not hold
// the lease try every leasePoll.
//
// When fn returns by itself the lease is released and RunExclusive returns
// nil. When ctx ends, fn's context ends too, and the lease is released once
// fn returns, so two replicas never run fn at once because of a shutdown.
// Closing the Store ends RunExclusive the same way, with an error.
func (s *Store) RunExclusive(ctx context.Context, name string, fn func(ctx context.Context)) error {
	if err := s.addWorker(); err != nil {
		return err
	}
	defer s.workers.Done()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(s.closing, func() { cancel(errClosed) })
	defer stop()

	key := lockKey("lease", s.schema, name)
	log := s.log.With("lease", name)
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			closeConn(conn)
		}
	}()
	delay := firstRedial
	for ctx.Err() == nil {
		if conn == nil {
			var err error
			if conn, err = s.dial(ctx, "lease"); err != nil {
				if ctx.Err() == nil {
					log.Warn("postgres: cannot connect to compete for the lease", "err", err)
				}
				sleep(ctx, jitter(delay))
				delay = min(2*delay, maxRedial)
				continue
			}
		}
		var held bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&held); err != nil {
			if ctx.Err() == nil {
				log.Warn("postgres: cannot try the lease", "err", err)
			}
			closeConn(conn)
			conn = nil
			sleep(ctx, jitter(delay))
			delay = min(2*delay, maxRedial)
			continue
		}
		delay = firstRedial
		if !held {
			sleep(ctx, leasePoll)
			continue
		}
		log.Info("postgres: lease acquired")
		if lost := hold(ctx, conn, fn); lost != nil {
			log.Warn("postgres: lease lost: its connection failed", "err", lost)
			closeConn(conn)
			conn = nil
			continue
		}
		// Unlock, rather than close, so the connection serves the next
		// attempt; closing it unlocks as well.
		release, stop := context.WithTimeout(context.WithoutCancel(ctx), pingTimeout)
		_, err := conn.Exec(release, `SELECT pg_advisory_unlock($1)`, key)
		stop()
		if err != nil {
			closeConn(conn)
			conn = nil
		}
		log.Info("postgres: lease released")
		if ctx.Err() == nil {
			return nil // fn is done
		}
	}
	return context.Cause(ctx)
}

// hold runs fn while conn holds the lease, checking conn every leaseCheck.
// It returns when fn has returned: by itself, or because ctx ended (nil),
// or because the check failed and the lease is lost (the check's error).
func hold(ctx context.Context, conn *pgx.Conn, fn func(ctx context.Context)) error {
	fnCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(fnCtx)
	}()
	tick := time.NewTicker(leaseCheck)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			cancel()
			<-done
			return nil
		case <-tick.C:
			if err := ping(ctx, conn); err != nil && ctx.Err() == nil {
				cancel()
				<-done
				return err
			}
		}
	}
}
