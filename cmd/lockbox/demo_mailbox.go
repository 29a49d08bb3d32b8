package main

import (
	"context"
	"encoding/json"
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
	"github.com/lockbox-dev/lockbox/gateway"
)

// demoMessage is a message in a demo mailbox: the customer content the
// gateway protects.
type demoMessage struct {
	ID       string    `json:"id"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Subject  string    `json:"subject"`
	Received time.Time `json:"received"`
	Body     string    `json:"body,omitempty"`
}

// demoMailboxes is the demo's customer-content service: the mailboxes of
// one tenant, read-only, as JSON.
//
//	GET /tenants/{tenant}/mailboxes/{mailbox}/messages       the list (no bodies)
//	GET /tenants/{tenant}/mailboxes/{mailbox}/messages/{id}  one message
//
// It trusts whoever reaches it: in the demo only the gateway does.
type demoMailboxes struct {
	tenant lockbox.TenantID
	boxes  map[string][]demoMessage
}

// newDemoMailboxes seeds the mailboxes of alice and bob of tenant, with
// messages received shortly before now.
func newDemoMailboxes(tenant lockbox.TenantID, now time.Time) *demoMailboxes {
	at := func(ago time.Duration) time.Time { return now.Add(-ago).UTC().Truncate(time.Second) }
	return &demoMailboxes{tenant: tenant, boxes: map[string][]demoMessage{
		"alice": {
			{ID: "msg_1", From: "bob@contoso.example", To: "alice@contoso.example", Subject: "Quarterly figures",
				Received: at(26 * time.Hour), Body: "Alice, the figures are in the shared folder. Bob"},
			{ID: "msg_2", From: "orders@fabrikam.example", To: "alice@contoso.example", Subject: "Order 4711 confirmed",
				Received: at(20 * time.Hour), Body: "Your order 4711 ships on Monday."},
			{ID: "msg_3", From: "MAILER-DAEMON@mx.contoso.example", To: "alice@contoso.example", Subject: "Undelivered Mail Returned to Sender",
				Received: at(3 * time.Hour), Body: "550 5.7.1 relay access denied for alice@contoso.example (rule inbound-42)"},
		},
		"bob": {
			{ID: "msg_1", From: "alice@contoso.example", To: "bob@contoso.example", Subject: "Re: Quarterly figures",
				Received: at(25 * time.Hour), Body: "Thanks, Bob!"},
			{ID: "msg_2", From: "it@contoso.example", To: "bob@contoso.example", Subject: "Mail delivery issue",
				Received: at(2 * time.Hour), Body: "We have opened a ticket with our provider."},
		},
	}}
}

// ServeHTTP answers the two read endpoints, and 404 for anything else.
func (m *demoMailboxes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tenants/{tenant}/mailboxes/{mailbox}/messages", func(w http.ResponseWriter, r *http.Request) {
		box, ok := m.mailbox(w, r)
		if !ok {
			return
		}
		list := make([]demoMessage, len(box))
		for i, msg := range box {
			msg.Body = ""
			list[i] = msg
		}
		demoJSON(w, http.StatusOK, map[string]any{"mailbox": r.PathValue("mailbox"), "messages": list})
	})
	mux.HandleFunc("GET /tenants/{tenant}/mailboxes/{mailbox}/messages/{id}", func(w http.ResponseWriter, r *http.Request) {
		box, ok := m.mailbox(w, r)
		if !ok {
			return
		}
		for _, msg := range box {
			if msg.ID == r.PathValue("id") {
				demoJSON(w, http.StatusOK, msg)
				return
			}
		}
		demoNotFound(w, "no such message")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { demoNotFound(w, "no such resource") })
	mux.ServeHTTP(w, r)
}

// mailbox finds the request's mailbox, or answers 404.
func (m *demoMailboxes) mailbox(w http.ResponseWriter, r *http.Request) ([]demoMessage, bool) {
	box, ok := m.boxes[r.PathValue("mailbox")]
	if r.PathValue("tenant") != string(m.tenant) || !ok {
		demoNotFound(w, "no such mailbox")
		return nil, false
	}
	return box, true
}

func demoNotFound(w http.ResponseWriter, msg string) {
	demoJSON(w, http.StatusNotFound, lockbox.ErrorBody{Error: lockbox.ErrorDetail{Code: lockbox.CodeNotFound, Message: msg}})
}

func demoJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// demoRoutes is the gateway's route table of the demo: every read under a
// mailbox needs a grant for the tenant of the path and mailbox:<name>.
const demoRoutes = `[
  {"method": "GET", "path": "/tenants/{tenant}/mailboxes/{mailbox}/{rest...}",
   "tenant": "{tenant}", "resource": "mailbox:{mailbox}", "level": "read"}
]
`

// demoStack is the demo's enforcement stack: the mailbox service and the
// lockbox gateway in front of it, each on its own listener.
type demoStack struct {
	gatewayURL, mailboxURL, routesFile string
	gw                                 *gateway.Server
	cancel                             context.CancelFunc
	wg                                 sync.WaitGroup
	mu                                 sync.Mutex
	errs                               []error
}

// startDemoStack writes the route file into dataDir, starts the mailbox
// service on a random port of 127.0.0.1 and the gateway on gatewayAddr,
// authenticating to the lockbox server at serverURL with apiToken (a user
// with the gateway role). Both run until ctx ends or Stop is called.
func startDemoStack(ctx context.Context, serverURL, gatewayAddr, dataDir, apiToken string, boxes *demoMailboxes, log *slog.Logger) (*demoStack, error) {
	s := &demoStack{routesFile: filepath.Join(dataDir, "gateway-routes.json")}
	if err := os.WriteFile(s.routesFile, []byte(demoRoutes), 0o600); err != nil {
		return nil, err
	}
	mbLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("mailbox service: %w", err)
	}
	s.mailboxURL = "http://" + mbLn.Addr().String()
	gw, err := gateway.New(gateway.Config{Upstream: s.mailboxURL, Server: serverURL, RoutesFile: s.routesFile,
		APIToken: apiToken, SpoolDir: filepath.Join(dataDir, "gateway-spool"), Name: "demo-gateway", Logger: log})
	if err != nil {
		mbLn.Close()
		return nil, err
	}
	gwLn, err := net.Listen("tcp", gatewayAddr)
	if err != nil {
		mbLn.Close()
		gw.Close()
		return nil, fmt.Errorf("--gateway-addr: %w", err)
	}
	s.gw = gw
	s.gatewayURL = "http://" + gwLn.Addr().String()
	ctx, s.cancel = context.WithCancel(ctx)

	mb := &http.Server{Handler: boxes, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := mb.Serve(mbLn); !errors.Is(err, http.ErrServerClosed) {
			s.fail(fmt.Errorf("mailbox service: %w", err))
		}
	}()
	go func() {
		defer s.wg.Done()
		// The gateway stops first, so that its last records still reach the
		// server; then the mailbox service behind it.
		if err := gw.Serve(ctx, gwLn); err != nil {
			s.fail(fmt.Errorf("gateway: %w", err))
		}
		shutdown, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer stop()
		_ = mb.Shutdown(shutdown)
	}()
	return s, nil
}

func (s *demoStack) fail(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
}

// WaitReady waits until the gateway has synced its revocation feed, at most
// for timeout, and reports whether it did.
func (s *demoStack) WaitReady(ctx context.Context, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for s.gw.Ready() != nil {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// Stop stops the gateway, then the mailbox service, and waits for both. It
// returns what went wrong while they ran. It may be called more than once,
// also concurrently.
func (s *demoStack) Stop() error {
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.errs...)
}
