package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox/notify"
)

var invitationTokenRE = regexp.MustCompile(`/invitations/(lbx_i_[A-Za-z0-9_-]+)`)

// invitationToken waits for the invitation e-mail to addr (the running
// server's notifier sends it; without --smtp-url it is kept in memory) and
// returns the token of its link.
func (e *env) invitationToken(addr string) string {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range e.srv.Mailer.(*notify.LogMailer).Sent() {
			if k := invitationTokenRE.FindStringSubmatch(m.Text); k != nil && m.To == addr {
				return k[1]
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("no invitation e-mail to %s", addr)
	return ""
}

// TestInvitationPage: an operator admin adds an engineer in the portal
// without choosing a password; the engineer accepts the e-mailed link on
// the invitation page, without JavaScript: an authenticator first, then
// their own password with a code, and signs in.
func TestInvitationPage(t *testing.T) {
	e := newEnv(t)
	olga := e.browser()
	olga.signIn("olga")
	pg := olga.post("/users", url.Values{"roles": {"engineer"}, "email": {"sam@operator.example"}, "display_name": {"Sam"}})
	if !strings.Contains(pg.flash(), "invited") {
		t.Fatalf("adding an engineer: %d %q", pg.Status, pg.flash())
	}
	token := e.invitationToken("sam@operator.example")

	sam := e.browser()
	pg = sam.get("/invitations/" + token)
	if pg.Status != http.StatusOK || !strings.Contains(pg.Body, "sam@operator.example") || !strings.Contains(pg.Body, `id="start-totp"`) {
		t.Fatalf("the invitation page: %d\n%s", pg.Status, pg.Body)
	}
	if got := pg.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy %q: the token in the URL may leak", got)
	}
	if strings.Contains(pg.Body, `id="accept-invitation"`) {
		t.Error("an engineer is offered to accept without a second factor")
	}

	// A cross-site form cannot accept it for Sam.
	req, _ := http.NewRequest(http.MethodPost, e.url+"/invitations/"+token+"/accept",
		strings.NewReader(url.Values{"password": {"attacker-password-1"}, "confirm_password": {"attacker-password-1"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if pg := e.browser().do(req); pg.Status != http.StatusForbidden {
		t.Fatalf("a cross-site accept: %d, want 403", pg.Status)
	}

	pg = sam.post("/invitations/"+token+"/totp", nil)
	m := regexp.MustCompile(`data-testid="totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(pg.Body)
	if pg.Status != http.StatusOK || m == nil || !strings.Contains(pg.Body, `id="accept-invitation"`) || !strings.Contains(pg.Body, "otpauth://") {
		t.Fatalf("enrolling the authenticator: %d\n%s", pg.Status, pg.Body)
	}
	secret := m[1]
	// Reloading the page does not show the secret again.
	if pg := sam.get("/invitations/" + token); strings.Contains(pg.Body, secret) {
		t.Error("the pending secret is shown again on a GET")
	}
	pg = sam.post("/invitations/"+token+"/accept", url.Values{"password": {"sam-own-password"}, "confirm_password": {"sam-own-password"}, "otp": {"000000"}})
	if pg.Status != http.StatusUnprocessableEntity {
		t.Errorf("a wrong code: %d, want 422", pg.Status)
	}
	pg = sam.post("/invitations/"+token+"/accept", url.Values{"password": {"sam-own-password"}, "confirm_password": {"sam-own-password"}, "otp": {e.code(secret)}})
	if pg.URL.Path != "/signin" || !strings.Contains(pg.flash(), "Welcome") {
		t.Fatalf("accepting ended at %s with %q", pg.URL, pg.flash())
	}
	if pg := sam.get("/invitations/" + token); pg.Status != http.StatusConflict {
		t.Errorf("the spent link: %d, want 409", pg.Status)
	}
	pg = sam.post("/signin", url.Values{"email": {"sam@operator.example"}, "password": {"sam-own-password"}, "otp": {e.code(secret)}})
	if !strings.Contains(pg.Body, "Signed in as") {
		t.Fatalf("signing in after accepting: %d", pg.Status)
	}
	if strings.Contains(e.logs.String(), token) || strings.Contains(e.logs.String(), "sam-own-password") {
		t.Error("the server logged the invitation token or the password")
	}
}

// TestReinviteFromTheUserPage: a member lost their password; the tenant's
// admin sends a new invitation from the member's page, which ends the old
// password, and the member chooses a new one through the link.
func TestReinviteFromTheUserPage(t *testing.T) {
	e := newEnv(t)
	alice := e.browser()
	alice.signIn("alice")
	mia := e.people["mia"]
	id := string(mia.User.ID)
	if pg := alice.get("/users/" + id); !strings.Contains(pg.Body, `id="reinvite-user"`) {
		t.Fatal("the member's page offers no re-invitation")
	}
	bob := e.browser()
	bob.signIn("bob")
	if pg := bob.post("/users/"+id+"/invitation", nil); pg.Status != http.StatusForbidden {
		t.Errorf("an approver re-invites: %d, want 403", pg.Status)
	}
	pg := alice.post("/users/"+id+"/invitation", nil)
	if !strings.Contains(pg.flash(), "new invitation") {
		t.Fatalf("re-inviting: %d %q", pg.Status, pg.flash())
	}
	token := e.invitationToken(mia.Email)
	if pg := e.browser().post("/signin", url.Values{"email": {mia.Email}, "password": {testPassword}}); pg.Status != http.StatusUnauthorized {
		t.Errorf("the old password after the re-invitation: %d, want 401", pg.Status)
	}
	m := e.browser()
	// A member needs no second factor.
	if pg := m.get("/invitations/" + token); !strings.Contains(pg.Body, `id="accept-invitation"`) {
		t.Fatalf("the member's invitation page: %d", pg.Status)
	}
	pg = m.post("/invitations/"+token+"/accept", url.Values{"password": {"mia-new-password"}, "confirm_password": {"mia-new-password"}})
	if pg.URL.Path != "/signin" {
		t.Fatalf("accepting ended at %s with %q", pg.URL, pg.flash())
	}
	pg = m.post("/signin", url.Values{"email": {mia.Email}, "password": {"mia-new-password"}})
	if !strings.Contains(pg.Body, "Signed in as") {
		t.Errorf("signing in with the new password: %d", pg.Status)
	}
}
