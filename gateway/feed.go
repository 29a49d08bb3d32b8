package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/grant"

	"github.com/lockbox-dev/lockbox/internal/backoff"
)

// Paths of the revocation feed on the lockbox server.
const (
	RevocationsPath       = "/v1/revocations"
	RevocationsStreamPath = "/v1/revocations/stream"
)

// Revocation is one ended request in the feed: revoked, completed (released,
// ticket resolved, window elapsed) — any end of approved access.
type Revocation struct {
	RequestID lockbox.RequestID     `json:"request_id"`
	TenantID  lockbox.TenantID      `json:"tenant_id"`
	Status    lockbox.RequestStatus `json:"status"`
	EndedAt   time.Time             `json:"ended_at"`
	// Cursor is the item's position in the feed, opaque to the gateway.
	Cursor string `json:"cursor"`
}

// RevocationPage is the answer of GET /v1/revocations.
type RevocationPage struct {
	Items []Revocation `json:"items"`
	// Next is the cursor to ask for next: the cursor of the last item, or
	// the after the request gave when there are no items.
	Next string `json:"next"`
}

// Revocations is what enforcement asks of a revocation source.
type Revocations interface {
	// Ended reports whether the request has ended, and how.
	Ended(id lockbox.RequestID) (Revocation, bool)
	// Ready returns nil when the source is current enough to decide on:
	// synced at least once and, if configured, heard from recently.
	Ready() error
}

// FeedConfig configures a Feed.
type FeedConfig struct {
	// Server is the lockbox server's URL; Token the gateway's API token.
	Server string
	Token  string
	// Client makes the requests. It must not have a Timeout (the stream is
	// long-lived); nil means a default client.
	Client *http.Client
	// MaxTokenTTL and Skew are the verifier's: an ended request is
	// remembered until every token it had has expired (ended_at +
	// MaxTokenTTL + Skew, plus a minute), then forgotten.
	MaxTokenTTL time.Duration
	Skew        time.Duration
	// MaxStaleness makes Ready fail when the feed has not been heard from
	// (items, heartbeats, polls) for that long, so a gateway cut off from
	// the server refuses instead of trusting a stale set (0:
	// DefaultMaxFeedStaleness; negative: never, relying on token expiry
	// alone, invariant 7).
	MaxStaleness time.Duration
	// PollInterval is used when the server has no stream endpoint (0: 2 s).
	PollInterval time.Duration
	// StreamIdle is how long a stream may stay silent before the gateway
	// reconnects (0: 45 s, or 5/6 of MaxStaleness when that is shorter, so
	// a silent connection is replaced before the feed counts as stale);
	// the server sends a heartbeat every 15 s.
	StreamIdle time.Duration
	Logger     *slog.Logger
	Now        func() time.Time
}

// Feed follows the server's revocation feed and keeps the set of ended
// requests. It first pages through GET /v1/revocations from its cursor, then
// holds GET /v1/revocations/stream open and applies items as they come,
// reconnecting with backoff and resuming from the last cursor; without a
// stream endpoint it polls. It is safe for concurrent use.
type Feed struct {
	cfg     FeedConfig
	listURL string
	retain  time.Duration
	mu      sync.RWMutex
	ended   map[lockbox.RequestID]Revocation
	cursor  string
	synced  bool
	contact time.Time
}

var _ Revocations = (*Feed)(nil)

// NewFeed returns a Feed; Run follows the server.
func NewFeed(cfg FeedConfig) (*Feed, error) {
	u, err := url.Parse(cfg.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("gateway: server URL %q is not an http(s) URL", cfg.Server)
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("gateway: an API token is required to read the revocation feed")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.MaxTokenTTL <= 0 {
		cfg.MaxTokenTTL = grant.DefaultMaxTTL
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.MaxStaleness == 0 {
		cfg.MaxStaleness = DefaultMaxFeedStaleness
	}
	if cfg.StreamIdle <= 0 {
		cfg.StreamIdle = 45 * time.Second
		if cfg.MaxStaleness > 0 && cfg.StreamIdle >= cfg.MaxStaleness {
			cfg.StreamIdle = cfg.MaxStaleness * 5 / 6
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Feed{
		cfg:     cfg,
		listURL: strings.TrimRight(cfg.Server, "/"),
		retain:  cfg.MaxTokenTTL + cfg.Skew + time.Minute,
		ended:   map[lockbox.RequestID]Revocation{},
	}, nil
}

// Ended reports whether id has ended.
func (f *Feed) Ended(id lockbox.RequestID) (Revocation, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	r, ok := f.ended[id]
	return r, ok
}

// ErrFeedNotReady is returned by Ready before the first sync, and when the
// feed is staler than MaxStaleness.
var ErrFeedNotReady = errors.New("the revocation feed is not current")

// Ready is nil once the feed has synced, and while it is fresh enough.
func (f *Feed) Ready() error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if !f.synced {
		return fmt.Errorf("%w: not synced with the server yet", ErrFeedNotReady)
	}
	if f.cfg.MaxStaleness > 0 {
		if age := f.cfg.Now().Sub(f.contact); age > f.cfg.MaxStaleness {
			return fmt.Errorf("%w: last heard from the server %s ago", ErrFeedNotReady, age.Round(time.Second))
		}
	}
	return nil
}

// Cursor is the position the feed has reached.
func (f *Feed) Cursor() string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.cursor
}

// Len is the number of ended requests remembered.
func (f *Feed) Len() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.ended)
}

// LastContact is when the server was last heard from.
func (f *Feed) LastContact() time.Time {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.contact
}

// apply records items and advances the cursor.
func (f *Feed) apply(items []Revocation, next string) {
	now := f.cfg.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, it := range items {
		if it.RequestID == "" {
			continue
		}
		if it.EndedAt.IsZero() {
			it.EndedAt = now // remember it for the full retention
		}
		f.ended[it.RequestID] = it
	}
	if next != "" {
		f.cursor = next
	}
	f.contact = now
	for id, it := range f.ended {
		if now.Sub(it.EndedAt) > f.retain {
			delete(f.ended, id) // every token it had has expired
		}
	}
}

func (f *Feed) touch() {
	f.mu.Lock()
	f.contact = f.cfg.Now()
	f.mu.Unlock()
}

// Run follows the feed until ctx ends.
func (f *Feed) Run(ctx context.Context) error {
	pause := backoff.Backoff{Policy: backoff.Policy{Min: 250 * time.Millisecond, Max: 30 * time.Second, Jitter: 0.3}}
	streaming := true
	for {
		err := f.catchUp(ctx)
		if err == nil {
			if streaming {
				opened := time.Now()
				err = f.stream(ctx)
				if time.Since(opened) > 30*time.Second {
					// A stream that lived is a healthy server; one that
					// keeps dropping at once (a buffering proxy, say) is
					// retried with growing pauses.
					pause.Reset()
				}
				if errors.Is(err, errNoStream) {
					f.cfg.Logger.Info("gateway: the server has no revocation stream; polling", "interval", f.cfg.PollInterval)
					streaming = false
					err = nil
				}
			}
			if err == nil && !streaming {
				pause.Reset()
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(f.cfg.PollInterval):
				}
				continue
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d := pause.Next()
		f.cfg.Logger.Warn("gateway: revocation feed interrupted; reconnecting", "error", err, "in", d)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
}

// catchUp pages through GET /v1/revocations until it is empty. With no
// cursor yet it asks only for what ended within the retention (since=…),
// which is all that can still matter.
func (f *Feed) catchUp(ctx context.Context) error {
	for {
		q := url.Values{}
		cursor := f.Cursor()
		if cursor != "" {
			q.Set("after", cursor)
		} else {
			q.Set("since", f.cfg.Now().Add(-f.retain).UTC().Format(time.RFC3339))
		}
		q.Set("limit", "500")
		page, err := f.page(ctx, f.listURL+RevocationsPath+"?"+q.Encode())
		if err != nil {
			return err
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", RevocationsPath, err)
		}
		if page.Next == "" && len(page.Items) > 0 {
			page.Next = page.Items[len(page.Items)-1].Cursor
		}
		f.apply(page.Items, page.Next)
		if len(page.Items) == 0 {
			f.mu.Lock()
			f.synced = true
			f.mu.Unlock()
			return nil
		}
	}
}

func (f *Feed) page(ctx context.Context, u string) (RevocationPage, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var page RevocationPage
	resp, err := f.get(ctx, u, "application/json")
	if err != nil {
		return page, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&page); err != nil {
		return page, fmt.Errorf("reading %s: %w", RevocationsPath, err)
	}
	return page, nil
}

var errNoStream = errors.New("no revocation stream")

func (f *Feed) get(ctx context.Context, u, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+f.cfg.Token)
	req.Header.Set("Accept", accept)
	if c := f.Cursor(); c != "" && accept == "text/event-stream" {
		req.Header.Set("Last-Event-ID", c)
	}
	resp, err := f.cfg.Client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		if accept == "text/event-stream" && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusNotImplemented || resp.StatusCode == http.StatusMethodNotAllowed) {
			return nil, errNoStream
		}
		return nil, fmt.Errorf("GET %s: %s: %s", strings.SplitN(u, "?", 2)[0], resp.Status, strings.TrimSpace(string(b)))
	}
	return resp, nil
}

// stream holds the server-sent-events stream open and applies its items
// until it breaks or stays silent for StreamIdle.
func (f *Feed) stream(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	q := url.Values{"after": {f.Cursor()}}
	if f.Cursor() == "" {
		q.Set("since", f.cfg.Now().Add(-f.retain).UTC().Format(time.RFC3339))
	}
	resp, err := f.get(ctx, f.listURL+RevocationsStreamPath+"?"+q.Encode(), "text/event-stream")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return fmt.Errorf("GET %s: content type %q, not text/event-stream", RevocationsStreamPath, ct)
	}
	f.touch()
	idle := time.AfterFunc(f.cfg.StreamIdle, cancel)
	defer idle.Stop()
	return readEvents(resp.Body, func() { idle.Reset(f.cfg.StreamIdle); f.touch() }, func(id, event string, data []byte) error {
		if event != "" && event != "revocation" {
			return nil // events of kinds this gateway does not know
		}
		var it Revocation
		if err := json.Unmarshal(data, &it); err != nil {
			return fmt.Errorf("revocation stream: bad item: %w", err)
		}
		if it.Cursor == "" {
			it.Cursor = id
		}
		f.apply([]Revocation{it}, it.Cursor)
		return nil
	})
}

// readEvents parses a text/event-stream (the WHATWG server-sent events
// format: "id:", "event:", "data:" lines, a blank line ends an event, lines
// starting with ":" are comments) and calls onEvent per event and onLine
// per line received.
func readEvents(r io.Reader, onLine func(), onEvent func(id, event string, data []byte) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var id, event string
	var data []byte
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return fmt.Errorf("revocation stream: line longer than 64 KiB")
			}
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("revocation stream closed by the server")
			}
			return err
		}
		onLine()
		s := strings.TrimRight(string(line), "\r\n")
		switch {
		case s == "":
			if len(data) > 0 {
				if err := onEvent(id, event, data); err != nil {
					return err
				}
			}
			event, data = "", data[:0]
		case strings.HasPrefix(s, ":"):
			// heartbeat
		default:
			field, value, _ := strings.Cut(s, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "id":
				id = value
			case "event":
				event = value
			case "data":
				if len(data) > 0 {
					data = append(data, '\n')
				}
				data = append(data, value...)
			}
		}
	}
}
