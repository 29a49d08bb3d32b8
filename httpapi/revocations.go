package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// RevocationItem is an item of the revocation feed (gateway/doc.go): an
// ended request and its cursor.
type RevocationItem struct {
	lockbox.Revocation
	Cursor string `json:"cursor"`
}

// RevocationPage is the answer of GET /v1/revocations.
type RevocationPage struct {
	Items []RevocationItem `json:"items"`
	// Next is the cursor of the last item or, with no items, the feed's
	// head, so a client resumes from it.
	Next string `json:"next"`
}

// Feed cursors are "c_<seq>"; "c_0" is the start of the feed.
func cursorOf(seq int64) string { return "c_" + strconv.FormatInt(seq, 10) }

func parseCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "c_"), 10, 64)
	if err != nil || n < 0 || !strings.HasPrefix(s, "c_") {
		return 0, lockbox.Errorf(lockbox.CodeBadRequest, "after: %q is not a cursor of this feed (such as c_42)", s)
	}
	return n, nil
}

// checkSince validates since; the feed ignores it and sends from the start,
// which the protocol allows ("a server may send more").
func checkSince(s string) error {
	if s == "" {
		return nil
	}
	if _, err := time.Parse(time.RFC3339, s); err != nil {
		return lockbox.Errorf(lockbox.CodeBadRequest, "since must be an RFC 3339 time")
	}
	return nil
}

func itemsOf(rs []lockbox.Revocation) []RevocationItem {
	out := make([]RevocationItem, len(rs))
	for i, r := range rs {
		out[i] = RevocationItem{Revocation: r, Cursor: cursorOf(r.Seq)}
	}
	return out
}

// revocationPageSize is the default page of GET /v1/revocations.
const revocationPageSize = 500

var revocationQuery = []param{
	{"after", "a cursor from a previous answer (default: the start of the feed)"},
	{"since", "RFC 3339; accepted and ignored: the feed sends from the cursor"},
}

func (s *Server) listRevocations(c *call) (*RevocationPage, error) {
	after, err := parseCursor(c.query("after"))
	if err != nil {
		return nil, err
	}
	if err := checkSince(c.query("since")); err != nil {
		return nil, err
	}
	limit := revocationPageSize
	if v := c.query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, lockbox.Errorf(lockbox.CodeBadRequest, "limit must be an integer")
		}
		if n < 1 || n > lockbox.MaxRevocationPage {
			return nil, lockbox.Errorf(lockbox.CodeInvalid, "limit must be between 1 and %d", lockbox.MaxRevocationPage)
		}
		limit = n
	}
	items, head, err := s.svc.ListRevocations(c.ctx, c.p, after, limit)
	if err != nil {
		return nil, err
	}
	page := &RevocationPage{Items: itemsOf(items), Next: cursorOf(head)}
	if len(items) > 0 {
		page.Next = page.Items[len(items)-1].Cursor
	}
	return page, nil
}

// streamKeepalive is how often the stream sends a comment when nothing
// happens (gateways reconnect after 45 s of silence) and re-reads the feed,
// in case a notice was lost.
const streamKeepalive = 15 * time.Second

// revocationStream serves GET /v1/revocations/stream: the items after the
// cursor, then each new one as it commits. It subscribes to the store's
// notices before reading the backlog, so nothing that commits in between
// is missed; any notice of a request change makes it read the feed again
// from its cursor, so items go out in feed order, each once.
func (s *Server) revocationStream(c *call) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		raw := q.Get("after")
		if raw == "" {
			raw = r.Header.Get("Last-Event-ID")
		}
		cursor, err := parseCursor(raw)
		if err == nil {
			err = checkSince(q.Get("since"))
		}
		if err != nil {
			writeError(w, err)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		notices, err := s.svc.Store().Watch(ctx)
		if err != nil {
			if ctx.Err() == nil { // else the client left
				writeError(w, err)
			}
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Time{}) // the stream outlives the server's write timeout
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		send := func() error {
			for {
				items, _, err := s.svc.ListRevocations(ctx, c.p, cursor, revocationPageSize)
				if err != nil {
					return err
				}
				for _, it := range itemsOf(items) {
					b, err := json.Marshal(it)
					if err != nil {
						return err
					}
					if _, err := fmt.Fprintf(w, "id: %s\nevent: revocation\ndata: %s\n\n", it.Cursor, b); err != nil {
						return err
					}
					cursor = it.Seq
				}
				if err := rc.Flush(); err != nil {
					return err
				}
				if len(items) < revocationPageSize {
					return nil
				}
			}
		}
		if err := send(); err != nil {
			return
		}
		tick := time.NewTicker(streamKeepalive)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.closing:
				return
			case n, ok := <-notices:
				if !ok {
					return
				}
				if !n.Lost && !n.Type.IsRequest() {
					continue
				}
			case <-tick.C:
				if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
					return
				}
			}
			if err := send(); err != nil {
				if ctx.Err() == nil {
					s.logger.Warn("revocation stream ended", "err", err)
				}
				return
			}
		}
	}
}
