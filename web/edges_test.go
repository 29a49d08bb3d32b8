package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/lockbox-dev/lockbox"
)

// TestSignInRedirectStaysOnSite (issue 13, item 11): whatever next= a link
// carries, the Location after signing in is a path of this site as a
// browser reads it — which first deletes TAB, CR and LF from the URL, so
// next=/<TAB>/evil.example used to send the user to //evil.example.
func TestSignInRedirectStaysOnSite(t *testing.T) {
	e := newEnv(t)
	hs := httptest.NewServer(e.srv.Handler())
	defer hs.Close()
	site, _ := url.Parse(hs.URL)
	p := e.people["bob"]
	for _, next := range []string{"/\t/evil.example", "/\t\t/evil.example/x", "/\r\n/evil.example", "//evil.example", "/\\evil.example",
		"/\\/evil.example", "https://evil.example", "/%09/evil.example", "/ /evil.example", "\t//evil.example"} {
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.PostForm(hs.URL+"/signin", url.Values{"email": {p.Email}, "password": {testPassword}, "otp": {e.code(p.Secret)}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || loc == "" {
			t.Fatalf("next=%q: %d, Location %q", next, resp.StatusCode, loc)
		}
		// As the WHATWG URL parser reads it: tabs and newlines removed,
		// backslashes are slashes.
		read := strings.NewReplacer("\t", "", "\r", "", "\n", "", "\\", "/").Replace(loc)
		u, err := site.Parse(read)
		if err != nil || u.Host != site.Host || !strings.HasPrefix(loc, "/") || strings.HasPrefix(read, "//") {
			t.Errorf("next=%q: Location %q leads to %v", next, loc, u)
		}
	}
}

// TestSettingsShowWebhookSecretOnce (issue 13, item 14): the settings page
// shows a webhook's signing secret on the answer that adds it and on the
// answer that rotates it, and never on a later visit; a password-only
// session of the tenant admin can neither add nor rotate (which would show
// one).
func TestSettingsShowWebhookSecretOnce(t *testing.T) {
	e := newEnv(t)
	alice := e.browser()
	alice.signIn("alice")
	hook := "https://hooks.customer.example/lockbox"
	form := url.Values{"enabled": {"on"}, "approvals_required": {"1"}, "pending_ttl": {"12h"}, "max_access_duration": {"8h"}, "webhooks": {hook}}
	secretRE := regexp.MustCompile(`data-testid="webhook-secret">(whsec_[^<]+)<`)
	pg := alice.post("/settings", form)
	m := secretRE.FindStringSubmatch(pg.Body)
	if pg.Status != http.StatusOK || m == nil || !strings.Contains(pg.Body, "shown only this once") {
		t.Fatalf("adding a webhook: %d, secret shown: %v", pg.Status, m)
	}
	first := m[1]
	pg = alice.get("/settings")
	if strings.Contains(pg.Body, "whsec_") || !strings.Contains(pg.Body, `data-testid="rotate-secret"`) {
		t.Fatalf("the settings page on a later visit shows a secret, or no rotate button")
	}
	// Saving again (same webhook) shows nothing.
	if pg = alice.post("/settings", form); strings.Contains(pg.Body, "whsec_") {
		t.Error("saving the same webhooks again shows its secret")
	}

	// A password-only session of the same admin.
	pwd := e.browser()
	p := e.people["alice"]
	pwd.post("/signin", url.Values{"email": {p.Email}, "password": {testPassword}})
	if pg = pwd.get("/settings"); pg.Status != http.StatusOK || strings.Contains(pg.Body, "whsec_") {
		t.Fatalf("password-only settings page: %d", pg.Status)
	}
	if pg = pwd.post("/settings/webhooks/rotate", url.Values{"url": {hook}}); pg.Status != http.StatusForbidden || strings.Contains(pg.Body, "whsec_") {
		t.Errorf("a password-only session rotates: %d", pg.Status)
	}
	form2 := url.Values{"enabled": {"on"}, "approvals_required": {"1"}, "pending_ttl": {"12h"}, "max_access_duration": {"8h"}, "webhooks": {hook + "\nhttps://hooks.customer.example/two"}}
	if pg = pwd.post("/settings", form2); pg.Status != http.StatusForbidden || strings.Contains(pg.Body, "whsec_") {
		t.Errorf("a password-only session adds a webhook: %d", pg.Status)
	}
	// Nor from another site (the portal's cross-origin protection).
	req, _ := http.NewRequest(http.MethodPost, e.url+"/settings/webhooks/rotate", strings.NewReader(url.Values{"url": {hook}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if pg = alice.do(req); pg.Status != http.StatusForbidden || strings.Contains(pg.Body, "whsec_") {
		t.Errorf("a cross-site rotation: %d", pg.Status)
	}

	// Rotating on the MFA session shows the new secret, once.
	pg = alice.post("/settings/webhooks/rotate", url.Values{"url": {hook}})
	m = secretRE.FindStringSubmatch(pg.Body)
	if pg.Status != http.StatusOK || m == nil || m[1] == first {
		t.Fatalf("rotating: %d, secret %v (first %s)", pg.Status, m, first)
	}
	if pg = alice.get("/settings"); strings.Contains(pg.Body, "whsec_") {
		t.Error("the settings page shows the rotated secret again")
	}
	evs, err := e.svc.ListEvents(context.Background(), &lockbox.Principal{User: p.User, AMR: []string{"pwd", "otp"}},
		lockbox.EventFilter{TenantID: e.acme.ID, After: -1, Type: lockbox.EventWebhookSecretRotated, Limit: 10})
	if err != nil || len(evs) != 1 || strings.Contains(string(evs[0].Data), m[1]) {
		t.Errorf("rotation events %v %v", evs, err)
	}
}
