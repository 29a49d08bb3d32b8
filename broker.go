package lockbox

import (
	"context"
	"sync"
)

// NoticeBroker fans event notices out to watchers in this process. Stores
// use it behind Watch: SQLite publishes after each commit, PostgreSQL from
// the notifications its listener connection receives. A watcher that lags
// more than its buffer loses notices and is then sent one Lost notice.
type NoticeBroker struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	ch   chan EventNotice
	lost bool
}

// watcherBuffer is how many notices a watcher may lag behind.
const watcherBuffer = 4096

// Subscribe returns a channel of notices that closes when ctx ends.
func (b *NoticeBroker) Subscribe(ctx context.Context) <-chan EventNotice {
	s := &subscriber{ch: make(chan EventNotice, watcherBuffer)}
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[*subscriber]struct{}{}
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	go func() {
		<-ctx.Done()
		b.mu.Lock()
		delete(b.subs, s)
		close(s.ch)
		b.mu.Unlock()
	}()
	return s.ch
}

// Publish delivers notices to every watcher without ever blocking.
func (b *NoticeBroker) Publish(notices ...EventNotice) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		for _, n := range notices {
			s.send(n)
		}
	}
}

// PublishLost tells every watcher that notices may have been missed, such
// as after a lost database connection.
func (b *NoticeBroker) PublishLost() { b.Publish(EventNotice{Lost: true}) }

func (s *subscriber) send(n EventNotice) {
	if s.lost {
		select {
		case s.ch <- EventNotice{Lost: true}:
			s.lost = false
		default:
			return
		}
	}
	select {
	case s.ch <- n:
	default:
		s.lost = true
	}
}

// Subscribers reports how many watchers are subscribed.
func (b *NoticeBroker) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}
