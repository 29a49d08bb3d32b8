package web_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lockbox-dev/lockbox"
)

// actionTimeout bounds each browser step; generous, as CI runs every
// package's tests at once on two cores.
const actionTimeout = 60 * time.Second

//go:embed testdata/axe.min.js
var axeSource string

// chromiumPath finds Debian's chromium. Without it the browser tests skip,
// except in CI (CI set), where a missing browser is a failure: `make
// browser` installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("LOCKBOX_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (run `make browser`); CI needs the browser tests")
	}
	t.Skip("chromium is not installed (run `make browser`); skipping the browser tests")
	return ""
}

// chrome is one headless browser; each person gets a private browser
// context in it, with its own cookies.
type chrome struct {
	t     *testing.T
	alloc context.Context
	root  context.Context
	shots string
}

func newChrome(t *testing.T) *chrome {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(alloc)
	if err := chromedp.Do(root); err != nil { // start the browser
		cancelRoot()
		cancelAlloc()
		t.Fatalf("starting chromium: %v", err)
	}
	t.Cleanup(func() { cancelRoot(); cancelAlloc() })
	shots := os.Getenv("LOCKBOX_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return &chrome{t: t, alloc: alloc, root: root, shots: shots}
}

// tab is one person's browser.
type tab struct {
	c    *chrome
	e    *env
	name string
	ctx  context.Context
}

func (c *chrome) tab(e *env, name string) *tab {
	ctx, cancel := chromedp.NewContext(c.root, chromedp.WithNewBrowserContext())
	c.t.Cleanup(cancel)
	// Open the tab on its own context: a tab opened by a first action
	// under a timeout would close when that timeout's context ends.
	if err := chromedp.Do(ctx); err != nil {
		c.t.Fatalf("opening a tab for %s: %v", name, err)
	}
	return &tab{c: c, e: e, name: name, ctx: ctx}
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.c.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.c.t.Fatalf("%s: %v (at %s)", b.name, err, b.location())
	}
}

func run[T any](b *tab, a chromedp.Action[T]) T {
	b.c.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.c.t.Fatalf("%s: %v", b.name, err)
	}
	return v
}

func (b *tab) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	l, _ := chromedp.Run(ctx, chromedp.Location())
	return l
}

func (b *tab) open(path string) {
	b.c.t.Helper()
	b.do(chromedp.Navigate(b.e.url+path), chromedp.WaitReady(chromedp.CSS("footer.foot")))
}

// submit clicks a button that sends a form and waits for the next page.
func (b *tab) submit(sel string) {
	b.c.t.Helper()
	b.do(
		chromedp.Evaluate[chromedp.Void](`document.body.dataset.stale = "1"`),
		chromedp.Click(chromedp.CSS(sel)),
		chromedp.WaitReady(chromedp.CSS("body:not([data-stale]) footer.foot")),
	)
}

func (b *tab) text(sel string) string {
	b.c.t.Helper()
	return run(b, chromedp.Text(chromedp.CSS(sel)))
}

// flash is the confirmation message of the page, or "".
func (b *tab) flash() string {
	b.c.t.Helper()
	return run(b, chromedp.Evaluate[string](`(document.querySelector('[data-testid=flash]') || {}).textContent || ""`))
}

func (b *tab) body() string {
	b.c.t.Helper()
	return run(b, chromedp.Evaluate[string](`document.body.innerText`))
}

func (b *tab) fill(sel, value string) {
	b.c.t.Helper()
	b.do(chromedp.SetValue(chromedp.CSS(sel), value))
}

// shot saves a screenshot of the whole page as an artefact.
func (b *tab) shot(name string) {
	b.c.t.Helper()
	png := run(b, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(b.c.shots, name+".png"), png, 0o644); err != nil {
		b.c.t.Fatal(err)
	}
}

// shotViewport saves what the screen shows, as a phone user first sees it.
func (b *tab) shotViewport(name string) {
	b.c.t.Helper()
	png := run(b, chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join(b.c.shots, name+".png"), png, 0o644); err != nil {
		b.c.t.Fatal(err)
	}
}

// axeViolation is one finding of axe-core.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// checkA11y runs axe-core on the page and fails on serious or critical
// violations of WCAG 2.x A and AA and axe's best practices.
func (b *tab) checkA11y(page string) {
	b.c.t.Helper()
	if !run(b, chromedp.Evaluate[bool](`typeof axe !== "undefined"`)) {
		b.do(chromedp.Evaluate[chromedp.Void](axeSource))
	}
	raw := run(b, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		b.c.t.Fatalf("axe on %s: %v", page, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, fmt.Sprint(n.Target...))
			}
			b.c.t.Errorf("accessibility, %s page: %s (%s): %s at %v", page, v.ID, v.Impact, v.Help, where)
		}
	}
}

// signIn signs the person in through the form, with a one-time code.
func (b *tab) signIn(name string) {
	b.c.t.Helper()
	p := b.e.people[name]
	b.open("/signin")
	b.do(
		chromedp.SendKeys(chromedp.CSS("#email"), p.Email),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.SendKeys(chromedp.CSS("#otp"), b.e.code(p.Secret)),
	)
	b.submit(`form[action="/signin"] button[type=submit]`)
	who := b.text(`[data-testid=who]`)
	if !strings.Contains(who, p.User.DisplayName) || !strings.Contains(who, "signed in with a one-time code") {
		b.c.t.Fatalf("%s signed in; the header says %q", name, who)
	}
}

// TestBrowserWorkflow walks the whole workflow in chromium: the customer
// opens a ticket, an engineer requests access, a support lead approves
// internally, the customer's approver approves and then revokes; and the
// refusals. Each main page is screenshotted and checked with axe-core.
func TestBrowserWorkflow(t *testing.T) {
	e := newEnv(t)
	c := newChrome(t)
	alice, eve, lee, bob := c.tab(e, "alice"), c.tab(e, "eve"), c.tab(e, "lee"), c.tab(e, "bob")

	alice.open("/signin")
	alice.shot("01-signin")
	alice.checkA11y("sign-in")
	alice.signIn("alice")
	if who := alice.text(`[data-testid=who]`); !strings.Contains(who, "tenant admin at Acme") {
		t.Errorf("the header does not say alice's role and tenant: %q", who)
	}

	// The customer opens a ticket.
	alice.open("/tickets")
	alice.fill("#title", "Invoices missing since Monday")
	alice.fill("#description", "The March invoices are not in the billing mailbox.")
	alice.do(chromedp.SetValue(chromedp.CSS("#severity"), "2"))
	alice.submit(`form[method=post][action="/tickets"] button`)
	if f := alice.flash(); !strings.Contains(f, "opened") {
		t.Fatalf("opening a ticket: flash %q", f)
	}
	ticketPath := strings.TrimPrefix(alice.location(), e.url)

	// The engineer finds it in the queue and requests access.
	eve.signIn("eve")
	eve.open("/tickets")
	eve.shot("02-operator-ticket-queue")
	eve.checkA11y("ticket queue")
	eve.open(ticketPath)
	eve.shot("03-ticket")
	eve.checkA11y("ticket")
	eve.submit("#request-access")
	eve.checkA11y("request form")
	eve.fill("#resources", "mailbox:billing")
	eve.fill("#justification", "Find out why the March invoices did not arrive.")
	eve.fill("#req-duration", "2h")
	eve.shot("04-request-form")
	eve.submit(`form[action="/requests"] button[type=submit]`)
	if f := eve.flash(); !strings.Contains(f, "Awaiting internal approval") {
		t.Fatalf("filing: flash %q; page %s", f, eve.body())
	}
	reqPath := strings.TrimPrefix(eve.location(), e.url)
	id := lockbox.RequestID(strings.TrimPrefix(reqPath, "/requests/"))

	// The support lead approves internally.
	lee.signIn("lee")
	lee.open("/approvals")
	lee.shot("05-internal-approvals")
	lee.checkA11y("internal approvals")
	if !strings.Contains(lee.body(), string(id)) {
		t.Fatal("the request is not in the support lead's queue")
	}
	lee.open(reqPath)
	lee.fill("#approve-reason", "Scope is one mailbox, read only.")
	lee.submit("#approve")
	if f := lee.flash(); !strings.Contains(f, "Awaiting customer approval") {
		t.Fatalf("internal approval: flash %q", f)
	}

	// The customer's approver sees it first, with the time left, and
	// approves for a shorter time.
	bob.signIn("bob")
	bob.open("/requests")
	bob.shot("06-customer-pending")
	bob.checkA11y("customer requests")
	pending := bob.text("#pending-title + div table tbody")
	if !strings.Contains(pending, string(id)) || !strings.Contains(pending, "left") || !strings.Contains(pending, e.people["eve"].User.DisplayName) {
		t.Fatalf("pending list: %q", pending)
	}
	bob.open(reqPath)
	bob.shot("07-customer-request")
	bob.checkA11y("customer request")
	body := bob.body()
	// Who asks and who approved internally, by name, although customers
	// cannot read operator users.
	for _, want := range []string{"mailbox:billing", "Find out why", "Customer-initiated support", "default/internal-approval", "Scope is one mailbox", "to decide",
		e.people["eve"].User.DisplayName, e.people["eve"].Email, e.people["lee"].User.DisplayName} {
		if !strings.Contains(body, want) {
			t.Errorf("the customer's request page lacks %q", want)
		}
	}
	bob.do(chromedp.SetValue(chromedp.CSS("#duration"), "30m"))
	bob.submit("#approve")
	if f := bob.flash(); !strings.Contains(f, "Approved: access open") {
		t.Fatalf("customer approval: flash %q", f)
	}

	// The engineer takes a grant token.
	eve.open("/access")
	eve.shot("08-my-access")
	eve.checkA11y("my access")
	eve.submit(`form[action="/requests/` + string(id) + `/token"] button`)
	tok := run(eve, chromedp.Value(chromedp.CSS("[data-testid=grant-token]")))
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("grant token %q", tok)
	}
	eve.shot("09-token")
	eve.checkA11y("token")

	// The approver sees the access recorded under the request, and revokes.
	e.recordAccess(id, "GET /tenants/"+string(e.acme.ID)+"/mailboxes/billing/messages")
	bob.open(reqPath)
	events := bob.text("[data-testid=request-events]")
	if !strings.Contains(events, "Access token issued") || !strings.Contains(events, "Data access allowed") {
		t.Errorf("the token issue and the access are not recorded under the request: %q", events)
	}
	bob.shot("10-customer-active")
	bob.fill("#revoke-reason", "Invoices found, thank you.")
	bob.submit("#revoke")
	if f := bob.flash(); !strings.Contains(f, "revoked") {
		t.Fatalf("revoke: flash %q", f)
	}
	if s := e.status(id); s != lockbox.StatusRevoked {
		t.Fatalf("after revoke the request is %s", s)
	}
	bob.open("/requests?status=revoked")
	if !strings.Contains(bob.text("#history-title ~ div table"), string(id)) {
		t.Error("the revoked request is not in the filtered history")
	}

	// Settings and log, as the tenant admin.
	alice.open("/settings")
	alice.shot("11-settings")
	alice.checkA11y("settings")
	alice.do(chromedp.Click(chromedp.CSS("#enabled")))
	alice.submit("#save-settings")
	if !strings.Contains(alice.body(), "Turn the lockbox off?") {
		t.Fatal("switching the lockbox off asks no confirmation")
	}
	alice.shot("12-settings-confirm")
	alice.checkA11y("settings confirmation")
	alice.submit("#confirm")
	if f := alice.flash(); f != "Lockbox settings saved." {
		t.Fatalf("settings: flash %q", f)
	}
	alice.open("/log")
	alice.submit("#verify")
	if !strings.Contains(alice.text("[data-testid=verified]"), "Verified just now") {
		t.Error("the log page does not verify the log")
	}
	alice.shot("13-log")
	alice.checkA11y("log")
	if !strings.Contains(alice.text("[data-testid=checkpoint]"), "Tree size") {
		t.Error("the log page shows no checkpoint")
	}
	alice.open("/totp")
	alice.checkA11y("one-time codes")
	alice.open("/account")
	alice.checkA11y("account")

	// On a phone.
	bob.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	bob.open(reqPath)
	bob.shot("14-phone-request")
	bob.shotViewport("14-phone-request-top")
	bob.checkA11y("request on a phone")
	if w := run(bob, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 400 {
		t.Errorf("on a phone the request page is %dpx wide: it scrolls sideways", w)
	}
	bob.open("/requests")
	bob.shotViewport("15-phone-requests")
	bob.checkA11y("requests on a phone")

	// Keyboard: the first Tab reaches the skip link, which leads to the
	// content.
	alice.open("/requests")
	alice.do(chromedp.KeyEvent("\t"))
	if f := run(alice, chromedp.Evaluate[string](`document.activeElement.textContent`)); f != "Skip to content" {
		t.Errorf("the first Tab focuses %q, want the skip link", f)
	}

	t.Run("operator admin pages", func(t *testing.T) {
		olga := c.tab(e, "olga")
		olga.signIn("olga")
		olga.open("/tenants")
		olga.shot("17-tenants")
		olga.checkA11y("tenants")
		olga.open("/tenants/" + string(e.acme.ID))
		olga.shot("18-tenant")
		olga.checkA11y("tenant")
		olga.open("/users")
		olga.shot("19-staff")
		olga.checkA11y("staff")
		olga.open("/users/" + string(e.people["lee"].User.ID))
		olga.shot("19b-staff-member")
		olga.checkA11y("staff member")
		// Her own API token (nobody mints one for another person).
		olga.open("/account")
		olga.fill("#token-name", "automation")
		olga.submit("#create-token")
		olga.checkA11y("API token")
		olga.open("/users/" + string(e.people["lee"].User.ID))
		olga.submit("#remove-user")
		olga.checkA11y("removal confirmation")
		alice.open("/users")
		alice.checkA11y("tenant users")
	})

	t.Run("one-time code enrolment", func(t *testing.T) {
		aliceMFA := &lockbox.Principal{User: e.people["alice"].User, AMR: []string{"pwd", "otp"}}
		if _, err := e.svc.SeedUser(context.Background(), aliceMFA, lockbox.CreateUserInput{Email: "nina@customer.example", DisplayName: "Nina",
			Kind: lockbox.KindCustomer, TenantID: e.acme.ID, Roles: []lockbox.Role{lockbox.RoleLockboxApprover}}, testPassword); err != nil {
			t.Fatal(err)
		}
		nina := c.tab(e, "nina")
		nina.open("/signin")
		nina.do(
			chromedp.SendKeys(chromedp.CSS("#email"), "nina@customer.example"),
			chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		)
		nina.submit(`form[action="/signin"] button[type=submit]`)
		nina.checkA11y("one-time codes off")
		nina.submit(`form[action="/totp/start"] button`)
		secret := nina.text("[data-testid=totp-secret]")
		nina.shot("20-totp-enrolment")
		nina.checkA11y("one-time code enrolment")
		nina.fill("#code", e.code(secret))
		nina.submit(`form[action="/totp/verify"] button`)
		if f := nina.flash(); !strings.Contains(f, "One-time codes are on") {
			t.Errorf("enrolment: flash %q", f)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		// The lockbox back on, as alice switched it off above.
		on := true
		aliceMFA := &lockbox.Principal{User: e.people["alice"].User, AMR: []string{"pwd", "otp"}}
		if _, err := e.svc.UpdateLockbox(context.Background(), aliceMFA, e.acme.ID, lockbox.LockboxPatch{Enabled: &on}); err != nil {
			t.Fatal(err)
		}
		r := e.fileRequest()
		e.approveInternally(r.ID)
		path := "/requests/" + string(r.ID)

		// A member can neither see nor approve the request.
		mia := c.tab(e, "mia")
		mia.signIn("mia")
		mia.open(path)
		if b := mia.body(); !strings.Contains(b, "Not allowed") || strings.Contains(b, "Approve") {
			t.Errorf("a member opening a request sees: %q", b)
		}
		mia.checkA11y("error")
		mia.shot("16-member-refused")

		// An approver sees the settings but cannot change them.
		bob.do(chromedp.EmulateViewport(1280, 900))
		bob.open("/settings")
		if !strings.Contains(bob.body(), "Only your tenant's admins can change these settings") {
			t.Error("the approver is not told that settings are read-only")
		}
		if d := run(bob, chromedp.Evaluate[bool](`document.querySelector("#approvals_required").matches(":disabled")`)); !d {
			t.Error("the settings form is editable for an approver")
		}

		// A form on another site, posting to the portal with bob's
		// session, is refused.
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<!doctype html><title>win a prize</title><form method="post" action="%s%s/approve"><input name="reason" value="x"><button id="go">Claim</button></form><footer class="foot"></footer>`, e.url, path)
		}))
		defer evil.Close()
		evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
		bob.do(chromedp.Navigate(evilURL), chromedp.WaitReady(chromedp.CSS("#go")))
		bob.submit("#go")
		if b := bob.body(); !strings.Contains(b, "Refused: cross-site form") {
			t.Errorf("a cross-site form got: %q", b)
		}
		if s := e.status(r.ID); s != lockbox.StatusPendingCustomer {
			t.Errorf("after a cross-site approve the request is %s", s)
		}

		// Another tenant's admin cannot reach the request by its URL.
		gina := c.tab(e, "gina")
		gina.signIn("gina")
		gina.open(path)
		if b := gina.body(); !strings.Contains(b, "Not found") || strings.Contains(b, "mailbox:alice") {
			t.Errorf("Globex's admin opening Acme's request sees: %q", b)
		}
	})
	t.Logf("screenshots in %s", c.shots)
}
