package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lockbox-dev/lockbox"
)

// noticeChannel is the NOTIFY channel of committed events. Installations in
// other schemas of the database share it; the schema in each payload tells
// their notices apart.
const noticeChannel = "lockbox_events"

// maxPayload is the largest NOTIFY payload PostgreSQL accepts, less one.
const maxPayload = 7999

// notice is the NOTIFY payload of an appended event: compact JSON that
// names the schema, so that a listener ignores other installations'
// events.
type notice struct {
	Schema    string            `json:"s"`
	TenantID  lockbox.TenantID  `json:"t,omitempty"`
	Index     int64             `json:"i,omitempty"`
	Type      lockbox.EventType `json:"y,omitempty"`
	RequestID lockbox.RequestID `json:"r,omitempty"`
	// Lost stands for a notice too long to send: listeners pass on a Lost
	// notice, and watchers re-read.
	Lost bool `json:"lost,omitempty"`
}

// encodeNotice returns the payload announcing n in the schema.
func encodeNotice(schema string, n lockbox.EventNotice) string {
	b, err := json.Marshal(notice{Schema: schema, TenantID: n.TenantID, Index: n.Index, Type: n.Type, RequestID: n.RequestID})
	if err != nil {
		panic(err) // strings and an integer always marshal
	}
	if len(b) > maxPayload {
		b, _ = json.Marshal(notice{Schema: schema, Lost: true})
	}
	return string(b)
}

// decodeNotice reads a payload. ok is false when the payload belongs to
// another schema. A payload it cannot read (another version of lockbox, or
// some other program on the channel) is a Lost notice: the event it
// announced is unknown, so watchers must re-read.
func decodeNotice(schema, payload string) (n lockbox.EventNotice, ok bool) {
	var p notice
	if err := json.Unmarshal([]byte(payload), &p); err != nil || p.Schema == "" {
		return lockbox.EventNotice{Lost: true}, true
	}
	if p.Schema != schema {
		return lockbox.EventNotice{}, false
	}
	if p.Lost || p.TenantID == "" || p.Type == "" || p.Index < 0 {
		return lockbox.EventNotice{Lost: true}, true
	}
	return lockbox.EventNotice{TenantID: p.TenantID, Index: p.Index, Type: p.Type, RequestID: p.RequestID}, true
}

// Timing of the listener.
const (
	// listenerIdleCheck is how long the listener waits for a notification
	// before it checks that its connection is alive: a connection cut
	// without a FIN (a dead NAT entry, a failed-over host) would otherwise
	// look like a quiet one for hours.
	listenerIdleCheck = 10 * time.Second
	// pingTimeout bounds a liveness check of a dedicated connection.
	pingTimeout = 3 * time.Second
	// Reconnection backoff of the listener and leases.
	firstRedial = 100 * time.Millisecond
	maxRedial   = 5 * time.Second
)

// listener holds the Store's one LISTEN connection and publishes what it
// hears to the Store's broker. It starts with the first Watch.
type listener struct {
	s       *Store
	mu      sync.Mutex
	running bool
}

// Watch implements lockbox.Store. The first Watch connects the listener and
// returns once it is listening, so no event committed after Watch returns
// is missed. When the listener's connection drops, it reconnects with
// backoff and then sends every watcher a Lost notice: events committed
// while it was away were not heard.
func (s *Store) Watch(ctx context.Context) (<-chan lockbox.EventNotice, error) {
	if err := s.listener.start(ctx); err != nil {
		return nil, err
	}
	return s.notices.Subscribe(ctx), nil
}

// start connects and runs the listener unless it runs already.
func (l *listener) start(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running {
		if l.s.closing.Err() != nil {
			return errClosed
		}
		return nil
	}
	if err := l.s.addWorker(); err != nil {
		return err
	}
	conn, err := l.connect(ctx)
	if err != nil {
		l.s.workers.Done()
		return err
	}
	l.running = true
	go l.run(conn)
	return nil
}

// connect opens a listener connection and LISTENs on it.
func (l *listener) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := l.s.dial(ctx, "listener")
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{noticeChannel}.Sanitize()); err != nil {
		closeConn(conn)
		return nil, fmt.Errorf("postgres: listen for event notices: %w", err)
	}
	return conn, nil
}

// run receives notifications until the Store closes, reconnecting whenever
// the connection fails.
func (l *listener) run(conn *pgx.Conn) {
	s := l.s
	defer s.workers.Done()
	ctx := s.closing
	for {
		err := l.receive(ctx, conn)
		closeConn(conn)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("postgres: the event listener lost its connection; reconnecting", "err", err)
		for delay := firstRedial; ; delay = min(2*delay, maxRedial) {
			if !sleep(ctx, jitter(delay)) {
				return
			}
			if conn, err = l.connect(ctx); err == nil {
				break
			}
			s.log.Warn("postgres: the event listener cannot reconnect", "err", err, "retry_in", min(2*delay, maxRedial))
		}
		s.log.Info("postgres: the event listener reconnected; watchers re-read what they follow")
		// Notices of events committed while the listener was away are lost.
		// Now that it listens again, watchers re-read and miss nothing.
		s.notices.PublishLost()
	}
}

// receive publishes notifications until the connection fails or ctx ends.
func (l *listener) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		wait, cancel := context.WithTimeout(ctx, listenerIdleCheck)
		n, err := conn.WaitForNotification(wait)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed() {
				// Quiet for a while: make sure the connection still works.
				if err := ping(ctx, conn); err != nil {
					return err
				}
				continue
			}
			return err
		}
		if n.Channel != noticeChannel {
			continue
		}
		if notice, ok := decodeNotice(l.s.schema, n.Payload); ok {
			l.s.notices.Publish(notice)
		}
	}
}

// dial opens a connection outside the pool, for a listener or a lease.
// role names it in pg_stat_activity ("lockbox-listener", "lockbox-lease").
//
// The server is told to probe the client over TCP and give up within about
// ten seconds, so the session of a replica that vanished without closing its
// connection ends soon: its lease passes to another replica, and notices stop
// queueing for its listener.
func (s *Store) dial(ctx context.Context, role string) (*pgx.Conn, error) {
	cfg := s.connConfig.Copy()
	cfg.RuntimeParams["application_name"] = s.appName + "-" + role
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect for a %s: %w", role, err)
	}
	_, err = conn.Exec(ctx, `SELECT set_config('tcp_keepalives_idle', '5', false),
		set_config('tcp_keepalives_interval', '2', false), set_config('tcp_keepalives_count', '3', false),
		set_config('tcp_user_timeout', '10000', false)`)
	if err != nil {
		closeConn(conn)
		return nil, fmt.Errorf("postgres: configure the %s connection: %w", role, err)
	}
	return conn, nil
}

// ping checks a dedicated connection answers in time.
func ping(ctx context.Context, conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	return conn.Ping(ctx)
}

// closeConn closes a dedicated connection, which also ends its session's
// LISTEN and advisory locks.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// sleep waits for d, or reports false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// jitter spreads d over its upper half, so replicas that failed together do
// not retry together.
func jitter(d time.Duration) time.Duration { return d/2 + rand.N(d/2+1) }
