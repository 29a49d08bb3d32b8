package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
	"github.com/lockbox-dev/lockbox/notify"
)

// TestSoak runs `lockbox soak` for a few seconds against a real server: it
// sets up its own tenant and people, runs the workflow, and reports each
// interval and a summary, with no errors.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a load for seconds")
	}
	const boot = "bootstrap-token-for-the-soak-test-0123456789"
	srv, err := app.New(context.Background(), app.Config{DataDir: t.TempDir(), BootstrapToken: boot,
		Argon2: &lockbox.Argon2Params{Memory: 1024, Time: 1, Threads: 1}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.API)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	h := newHarness(t)
	// The soak's people are invited: it reads their links as the invitee
	// would, from the e-mails (kept in memory without --smtp-url).
	var mu sync.Mutex
	h.invitationLink = func(ctx context.Context, email string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		return "/invitations/" + invitationToken(t, srv, email), nil
	}
	out := h.ok("soak", "--server", hs.URL, "--token", boot, "--duration", "3500ms", "--interval", "1s", "--workers", "2")
	if n := len(regexp.MustCompile(`(?m)^\s+\d+s\s+\d+\s`).FindAllString(out, -1)); n < 3 {
		t.Errorf("soak printed %d interval lines, want one a second:\n%s", n, out)
	}
	m := regexp.MustCompile(`soak: (\d+) operations in \S+ \(\d+/s\), (\d+) errors`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" || m[2] != "0" {
		t.Fatalf("soak summary missing, or no operations, or errors:\n%s", out)
	}
	if !strings.Contains(out, "server RSS") || !strings.Contains(out, "from the 2nd interval to the last") {
		t.Errorf("soak does not report memory over time:\n%s", out)
	}
	if strings.Contains(out, boot) {
		t.Error("soak printed the operator token")
	}
}

// TestSoakReadsInvitationsFromTheDemoMailbox: soak finds the invitation
// link of each of its people in the demo's mailbox file.
func TestSoakReadsInvitationsFromTheDemoMailbox(t *testing.T) {
	path := t.TempDir() + "/mail.txt"
	m := &demoMailer{out: io.Discard, path: path}
	for _, e := range []notify.Email{
		{To: "a@soak.example", Subject: "[lockbox] You are invited", Text: "Accept:\nhttp://x/invitations/lbx_i_first\n"},
		{To: "b@soak.example", Subject: "[lockbox] You are invited", Text: "Accept:\nhttp://x/invitations/lbx_i_other\n"},
		{To: "a@soak.example", Subject: "[lockbox] You are invited", Text: "Accept:\nhttp://x/invitations/lbx_i_newest\n"},
	} {
		if err := m.Send(context.Background(), &e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := linkFromMailFile(context.Background(), path, "a@soak.example")
	if err != nil || got != "http://x/invitations/lbx_i_newest" {
		t.Fatalf("link of a@: %q, %v", got, err)
	}
}
