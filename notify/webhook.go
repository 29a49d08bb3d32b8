package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// SignatureHeader carries a webhook delivery's signature:
// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"> with the webhook's
// secret, as Stripe signs its webhooks.
const SignatureHeader = "Lockbox-Signature"

// DefaultHTTPClient posts webhooks: a 10 s timeout, no redirects (a 3xx is
// a failure, so a delivery cannot be bounced to another host).
func DefaultHTTPClient() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Sign returns the Lockbox-Signature value of body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a Lockbox-Signature header against body: a v1 signature
// made with secret, at a time within tolerance of now (against replays).
// Receivers written in Go may call it; docs/notifications.md shows the same
// check in a few lines.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("malformed Lockbox-Signature header: want t=<unix>,v1=<hex>")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("the signature's time is %s away from now", d.Round(time.Second))
	}
	want := Sign(secret, time.Unix(sec, 0), body)
	_, wantSig, _ := strings.Cut(want, ",v1=")
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(wantSig)) {
			return nil
		}
	}
	return errors.New("no v1 signature matches: wrong secret or altered body")
}

// eventJSON is the part of an event the Slack and Teams texts use.
type eventJSON struct {
	Type     lockbox.EventType `json:"type"`
	TenantID lockbox.TenantID  `json:"tenant_id"`
}

// webhookBody is what a webhook receives: the event as logged (the
// "lockbox" format), or {"text": …} for Slack and Teams incoming webhooks.
func webhookBody(format string, p *lockbox.NotificationPayload, publicURL string) ([]byte, error) {
	switch format {
	case "", lockbox.WebhookFormatLockbox:
		if len(p.Event) == 0 {
			return nil, errors.New("the notification has no event")
		}
		return p.Event, nil
	case lockbox.WebhookFormatSlack, lockbox.WebhookFormatTeams:
		var e eventJSON
		if err := json.Unmarshal(p.Event, &e); err != nil {
			return nil, fmt.Errorf("the stored event does not decode: %w", err)
		}
		link := ""
		if p.Request != nil {
			link = RequestLink(publicURL, p.Request.ID)
		}
		esc := slackEscape
		if format == lockbox.WebhookFormatTeams {
			esc = teamsEscape
		}
		return json.Marshal(map[string]string{"text": summaryLine(&e, p.Request, link, esc)})
	}
	return nil, fmt.Errorf("unknown webhook format %q", format)
}

// postWebhook delivers one webhook notification. Any answer but 2xx, and any
// transport error or timeout, is a failure to retry.
func postWebhook(ctx context.Context, client *http.Client, h OperatorWebhook, n *lockbox.Notification,
	p *lockbox.NotificationPayload, publicURL string, now time.Time) error {
	if err := lockbox.ValidateWebhookURL(h.URL); err != nil {
		return permanent(err)
	}
	body, err := webhookBody(h.Format, p, publicURL)
	if err != nil {
		return permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return permanent(fmt.Errorf("webhook request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "lockbox-webhooks/1")
	req.Header.Set("Lockbox-Delivery", n.ID)
	if n.EventID != "" {
		req.Header.Set("Lockbox-Event", n.EventID)
	}
	req.Header.Set(SignatureHeader, Sign(h.Secret, now, body))
	resp, err := client.Do(req)
	if errors.Is(err, errPrivateAddress) {
		return permanent(fmt.Errorf("POST %s: %w", lockbox.RedactURL(h.URL), errPrivateAddress))
	}
	if err != nil {
		// The error names the URL, which may carry a token: say the host.
		return fmt.Errorf("POST %s: %s", lockbox.RedactURL(h.URL), transportError(err))
	}
	defer resp.Body.Close()
	// The answer's body is not kept: the delivery history is shown to the
	// tenant, and a receiver's answer is the receiver's business.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("POST %s: HTTP %d %s", lockbox.RedactURL(h.URL), resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return nil
}

// guardPrivate returns a client like c whose connections to any
// special-purpose address (loopback, private, link-local, documentation,
// benchmarking…: specialPurpose) or to one of the host's own addresses fail
// with errPrivateAddress. The check is on the address dialed, after DNS and
// at every connection, so a name that resolves — or is rebound between two
// deliveries — to an internal address is refused too. Tenant admins
// choose their webhooks' URLs: without it they could make the server probe
// its own network.
func guardPrivate(c *http.Client) *http.Client {
	var tr *http.Transport
	switch t := c.Transport.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		tr = t.Clone()
	default:
		return c // a custom transport (tests) is trusted as it is
	}
	d := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || refusedAddress(ip, ownAddresses()) != "" {
			return errPrivateAddress
		}
		return nil
	}}
	tr.DialContext = d.DialContext
	tr.Proxy = nil // a proxy would dial for us, unchecked
	g := *c
	g.Transport = tr
	return &g
}

// transportError is the cause of a failed request without the URL that
// net/http puts in front of it.
func transportError(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}
