package httpapi_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
)

// TestChatWebhooksEscapeEveryValue (issue 13, item 12): names, resources
// and a tenant's name chosen to ping a channel or hide a link arrive in
// Slack and Teams as plain text: the exact JSON each receiver gets holds
// them escaped for its markup.
func TestChatWebhooksEscapeEveryValue(t *testing.T) {
	var clock func() time.Time
	slack := newHookReceiver(t, func() time.Time { return clock() })
	teams := newHookReceiver(t, func() time.Time { return clock() })
	e := newEnvWith(t, func(c *app.Config) {
		c.Notify = app.NotifyConfig{HTTPClient: slack.srv.Client(), WebhookAllowPrivate: true} // the receivers are on 127.0.0.1
		c.PublicURL = "https://lockbox.test"
	})
	clock = e.clock.Now
	w := e.newWorld("Acme <!here> & [Support](https://evil.example)")
	eve := e.createUser(e.admin, lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer},
		DisplayName: "<!channel> *Eve* <https://evil.example|IT support> `x` _y_ # ~z~"})
	set := e.setLockbox(w, map[string]any{"webhooks": []map[string]string{
		{"url": slack.srv.URL + "/slack", "format": "slack"}, {"url": teams.srv.URL + "/teams", "format": "teams"}}})
	slack.set(set.Webhooks[0].Secret, 0)
	teams.set(set.Webhooks[1].Secret, 0)
	r := &lockbox.AccessRequest{}
	e.must(201, "POST", "/v1/requests", eve.token, lockbox.CreateRequestInput{
		TicketID: w.ticket.ID, Resources: []string{"mailbox:<!channel>", "<https://evil.example|click>", "![img](https://evil.example/x.png)"},
		AccessLevel: lockbox.LevelRead, ReasonType: lockbox.ReasonCustomerInitiated,
		Justification: "<!everyone> please <https://evil.example|approve here>", Duration: lockbox.Duration(time.Hour),
	}, r)
	e.must(200, "POST", reqPath(r.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "ok"}, r)
	e.drain()

	link := "https://lockbox.test/requests/" + string(r.ID)
	deadline := r.DecisionDeadline.UTC().Format("2006-01-02 15:04 UTC")
	for _, c := range []struct {
		name string
		h    *hookReceiver
		text string
	}{
		{"slack", slack, "lockbox: request.pending_customer — &lt;!channel&gt; *Eve* &lt;https://evil.example|IT support&gt; `x` _y_ # ~z~'s read access request to " +
			"mailbox:&lt;!channel&gt;, &lt;https://evil.example|click&gt;, ![img](https://evil.example/x.png) (Acme &lt;!here&gt; &amp; [Support](https://evil.example)) " +
			"is pending_customer; decide before " + deadline + ". " + link},
		{"teams", teams, `lockbox: request.pending\_customer — &lt;\!channel&gt; \*Eve\* &lt;https://evil.example\|IT support&gt; \` + "`" + `x\` + "`" + ` \_y\_ \# \~z\~'s read access request to ` +
			`mailbox:&lt;\!channel&gt;, &lt;https://evil.example\|click&gt;, \!\[img\]\(https://evil.example/x.png\) (Acme &lt;\!here&gt; &amp; \[Support\]\(https://evil.example\)) ` +
			`is pending\_customer; decide before ` + deadline + ". " + link},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.h.mu.Lock()
			defer c.h.mu.Unlock()
			if len(c.h.bad) > 0 {
				t.Fatalf("the receiver refused deliveries: %v", c.h.bad)
			}
			want, _ := json.Marshal(map[string]string{"text": c.text})
			var bodies []string
			for _, d := range c.h.got {
				if strings.HasPrefix(string(d.Body), `{"text":"lockbox: request.pending`) {
					bodies = append(bodies, string(d.Body))
				}
			}
			if len(bodies) != 1 || bodies[0] != string(want) {
				t.Fatalf("%s received\n%s\nwant\n%s", c.name, strings.Join(bodies, "\n"), want)
			}
			live := []string{"<!channel>", "<!here>", "<https://", "<!everyone>"} // Slack's markup
			if c.name == "teams" {
				live = append(live, "](https://", "*Eve*") // markdown
			}
			for _, raw := range live {
				for _, d := range c.h.got {
					var text struct{ Text string }
					json.Unmarshal(d.Body, &text)
					if strings.Contains(text.Text, raw) {
						t.Errorf("%s received %q verbatim: %s", c.name, raw, text.Text)
					}
				}
			}
		})
	}
}

// TestWebhookToOwnAddressRefused (issue 13, item 15): a tenant webhook to
// the server host's own non-loopback address — reachable, and the host's
// own services behind it — is refused at delivery, on the address dialed.
func TestWebhookToOwnAddressRefused(t *testing.T) {
	var ownIP net.IP
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			ownIP = n.IP
			break
		}
	}
	if ownIP == nil {
		t.Skip("this host has no non-loopback IPv4 address")
	}
	var clock func() time.Time
	h := &hookReceiver{t: t, clock: func() time.Time { return clock() }}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(h.serve))
	ln, err := net.Listen("tcp", net.JoinHostPort(ownIP.String(), "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ownIP, err)
	}
	h.srv.Listener.Close()
	h.srv.Listener = ln
	h.srv.StartTLS()
	t.Cleanup(h.srv.Close)
	e := newEnvWith(t, func(c *app.Config) { c.Notify = app.NotifyConfig{HTTPClient: h.srv.Client()} })
	clock = e.clock.Now
	w := e.newWorld("acme")
	s := e.setLockbox(w, map[string]any{"webhooks": []map[string]string{{"url": h.srv.URL + "/hook"}}})
	h.set(s.Webhooks[0].Secret, 0)
	r := e.request(w, "1h")
	e.drain()
	var webhooks int
	for _, n := range e.notifications(r.ID, w.customerAdmin.token) {
		if n.Channel != lockbox.ChannelWebhook {
			continue
		}
		webhooks++
		if n.Status != lockbox.NotificationFailed || !strings.Contains(n.LastError, "the server's own") {
			t.Errorf("a webhook to %s: %s after %d attempts: %s", h.srv.URL, n.Status, n.Attempts, n.LastError)
		}
	}
	if webhooks == 0 {
		t.Fatal("no webhook notification")
	}
	if got := h.eventTypesFor(r.ID); len(got) != 0 {
		t.Errorf("the receiver on the host's own %s got %v", ownIP, got)
	}
}

// TestWebhookSecretShownOnce (issue 13, item 14): a webhook's signing
// secret is shown once — in the answer that adds the webhook or rotates
// its secret, to a tenant admin's MFA session — and never again by any
// read, the admin's included. A password-only session of the admin can
// neither see nor rotate one; the rotation is in the tenant's log without
// the secret, and deliveries are signed with the new secret.
func TestWebhookSecretShownOnce(t *testing.T) {
	var clock func() time.Time
	h := newHookReceiver(t, func() time.Time { return clock() })
	e := newEnvWith(t, func(c *app.Config) {
		c.Notify = app.NotifyConfig{HTTPClient: h.srv.Client(), WebhookAllowPrivate: true}
	})
	clock = e.clock.Now
	w := e.newWorld("acme")
	admin := w.customerAdmin
	tenantPath := "/v1/tenants/" + string(w.tenant.ID)
	hook := h.srv.URL + "/hook"
	set := e.setLockbox(w, map[string]any{"webhooks": []map[string]string{{"url": hook}}})
	first := set.Webhooks[0].Secret
	if !strings.HasPrefix(first, "whsec_") {
		t.Fatalf("adding a webhook did not show its secret: %+v", set.Webhooks)
	}
	var pwd lockbox.LoginOutput
	e.must(200, "POST", "/v1/auth/login", "", lockbox.LoginInput{Email: admin.Email, Password: admin.password}, &pwd)
	noSecret := func(who, token string) {
		t.Helper()
		for _, path := range []string{tenantPath + "/lockbox", tenantPath, "/v1/tenants"} {
			rs := e.call("GET", path, token, nil)
			if rs.Status != 200 || strings.Contains(string(rs.Body), "whsec_") || strings.Contains(string(rs.Body), `"secret"`) {
				t.Errorf("%s GET %s: %d %s", who, path, rs.Status, rs.Body)
			}
		}
	}
	noSecret("the admin's MFA session", admin.token)
	noSecret("the admin's password-only session", pwd.Token)
	noSecret("an approver", w.approver.token)
	noSecret("an operator admin", w.opAdmin.token)

	// Changing the settings again shows the new webhook's secret only.
	set = e.setLockbox(w, map[string]any{"webhooks": []map[string]string{{"url": hook}, {"url": "https://hooks.lockbox.invalid/b"}}})
	if set.Webhooks[0].Secret != "" || !strings.HasPrefix(set.Webhooks[1].Secret, "whsec_") {
		t.Errorf("a second change shows %+v", set.Webhooks)
	}

	// Rotation: MFA tenant admins only.
	rotate := tenantPath + "/lockbox/webhooks/rotate"
	body := lockbox.RotateWebhookSecretInput{URL: hook}
	before := e.eventCount(w.tenant.ID)
	for who, tok := range map[string]string{"password-only admin": pwd.Token, "approver": w.approver.token, "member": w.member.token,
		"operator admin": w.opAdmin.token, "engineer": w.engineer.token} {
		if rs := e.call("POST", rotate, tok, body); rs.Status != 403 && rs.Status != 404 {
			t.Errorf("%s rotates: %d %s", who, rs.Status, rs.Body)
		}
	}
	if rs := e.call("PATCH", tenantPath+"/lockbox", pwd.Token, map[string]any{"webhooks": []map[string]string{{"url": "https://hooks.lockbox.invalid/c"}}}); rs.Status != 403 {
		t.Errorf("a password-only admin adds a webhook (and would see its secret): %d %s", rs.Status, rs.Body)
	}
	e.must(404, "POST", rotate, admin.token, lockbox.RotateWebhookSecretInput{URL: "https://hooks.lockbox.invalid/none"}, nil)
	e.must(422, "POST", rotate, admin.token, lockbox.RotateWebhookSecretInput{}, nil)
	if n := e.eventCount(w.tenant.ID); n != before {
		t.Fatalf("refused rotations added %d events", n-before)
	}
	var rotated lockbox.Webhook
	e.must(200, "POST", rotate, admin.token, body, &rotated)
	if rotated.URL != hook || !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.Secret == first {
		t.Fatalf("rotated: %+v", rotated)
	}
	noSecret("the admin after rotating", admin.token)
	evs := e.events(w.tenant.ID)[before:]
	if len(evs) != 1 || evs[0].Type != lockbox.EventWebhookSecretRotated || evs[0].ActorID != admin.ID ||
		strings.Contains(string(evs[0].Data), rotated.Secret) || strings.Contains(string(evs[0].Data), first) || !strings.Contains(string(evs[0].Data), hook) {
		t.Fatalf("the rotation's events: %v %s", eventTypes(evs), evs[0].Data)
	}
	if strings.Contains(e.logs.String(), rotated.Secret) || strings.Contains(e.logs.String(), first) {
		t.Error("a webhook secret is in the server's log")
	}

	// Deliveries are signed with the new secret, not the old (the other
	// webhook, on a name that does not resolve, receives nothing).
	h.set(rotated.Secret, 0)
	r := e.request(w, "1h")
	e.drain()
	h.mu.Lock()
	bad := h.bad
	h.mu.Unlock()
	if got := h.eventTypesFor(r.ID); len(got) == 0 || len(bad) > 0 {
		t.Errorf("deliveries after the rotation: %v, refused by the receiver: %v", got, bad)
	}
}
