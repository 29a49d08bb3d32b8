package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/lockbox-dev/lockbox"
)

// Email is a rendered e-mail to one recipient.
type Email struct {
	// ID is the notification's id; it makes the Message-ID, so a
	// receiver can tell a redelivery from a new message.
	ID      string
	To      string
	Subject string
	Text    string
	HTML    string
	// Sensitive marks an e-mail holding a secret (an invitation link):
	// its body is never written to a log.
	Sensitive bool
}

// Mailer sends e-mails.
type Mailer interface {
	Send(ctx context.Context, m *Email) error
}

// SMTPConfig is what --smtp-url and --smtp-from configure.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string
	Password string
	// ImplicitTLS is smtps://: TLS from the first byte.
	ImplicitTLS bool
	// StartTLS is the STARTTLS policy of smtp://: "mandatory" (the
	// default with credentials, which are never sent in the clear),
	// "opportunistic" (the default without) or "off" (?starttls=false).
	StartTLS string
	From     string
	// TLSConfig overrides the TLS settings (tests trust their own CA).
	TLSConfig *tls.Config
}

// ParseSMTPURL reads an --smtp-url: smtp://[user:pass@]host[:port] (port
// 587 by default) or smtps://…(465), with ?starttls=false|true to force
// STARTTLS off or on. Errors never repeat the password.
func ParseSMTPURL(raw, from string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPConfig{}, errors.New("--smtp-url: not a URL: want smtp://user:pass@host:port or smtps://…")
	}
	c := SMTPConfig{Host: u.Hostname(), From: from}
	switch u.Scheme {
	case "smtp":
		c.Port = 587
	case "smtps":
		c.Port, c.ImplicitTLS = 465, true
	default:
		return SMTPConfig{}, fmt.Errorf("--smtp-url: scheme %q: want smtp:// or smtps://", u.Scheme)
	}
	if c.Host == "" {
		return SMTPConfig{}, errors.New("--smtp-url: no host: want smtp://user:pass@host:port")
	}
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil || c.Port <= 0 || c.Port > 65535 {
			return SMTPConfig{}, fmt.Errorf("--smtp-url: port %q is not a port number", p)
		}
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	c.StartTLS = "opportunistic"
	if c.Username != "" {
		c.StartTLS = "mandatory"
	}
	for k, v := range u.Query() {
		switch k {
		case "starttls":
			switch strings.ToLower(v[0]) {
			case "false", "off", "0", "no":
				c.StartTLS = "off"
			case "true", "on", "1", "yes", "mandatory":
				c.StartTLS = "mandatory"
			case "opportunistic":
				c.StartTLS = "opportunistic"
			default:
				return SMTPConfig{}, fmt.Errorf("--smtp-url: starttls=%q: want true, false or opportunistic", v[0])
			}
		default:
			return SMTPConfig{}, fmt.Errorf("--smtp-url: unknown parameter %q (only starttls)", k)
		}
	}
	if c.ImplicitTLS && c.StartTLS == "off" {
		c.StartTLS = "opportunistic" // smtps is TLS already
	}
	if from == "" {
		return SMTPConfig{}, errors.New("--smtp-from is required with --smtp-url: the address notifications come from")
	}
	if err := lockbox.ValidateEmail(from); err != nil {
		if a, perr := parseAddressList(from); perr != nil || a == "" {
			return SMTPConfig{}, fmt.Errorf("--smtp-from: %q is not an e-mail address", from)
		}
	}
	return c, nil
}

// parseAddressList accepts "Name <addr>" forms for the sender.
func parseAddressList(s string) (string, error) {
	i, j := strings.LastIndex(s, "<"), strings.LastIndex(s, ">")
	if i < 0 || j < i {
		return "", errors.New("no address")
	}
	a := s[i+1 : j]
	return a, lockbox.ValidateEmail(a)
}

// String describes the configuration without the password.
func (c SMTPConfig) String() string {
	scheme := "smtp"
	if c.ImplicitTLS {
		scheme = "smtps"
	}
	user := ""
	if c.Username != "" {
		user = c.Username + ":***@"
	}
	tls := "starttls " + c.StartTLS
	if c.ImplicitTLS {
		tls = "implicit TLS"
	}
	return fmt.Sprintf("%s://%s%s (%s)", scheme, user, net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), tls)
}

// SMTPMailer sends e-mails over SMTP with go-mail, one connection per
// message.
type SMTPMailer struct {
	c SMTPConfig
}

// NewSMTPMailer returns a mailer for c.
func NewSMTPMailer(c SMTPConfig) *SMTPMailer { return &SMTPMailer{c: c} }

// Send implements Mailer.
func (m *SMTPMailer) Send(ctx context.Context, e *Email) error {
	msg := mail.NewMsg()
	if err := msg.From(m.c.From); err != nil {
		return permanent(fmt.Errorf("sender %q: %w", m.c.From, err))
	}
	if err := msg.To(e.To); err != nil {
		return permanent(fmt.Errorf("recipient %q: %w", e.To, err))
	}
	msg.Subject(e.Subject)
	msg.SetMessageIDWithValue(e.ID + "@lockbox")
	msg.SetGenHeader("X-Lockbox-Notification", e.ID)
	msg.SetDate()
	msg.SetBodyString(mail.TypeTextPlain, e.Text)
	if e.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, e.HTML)
	}
	opts := []mail.Option{mail.WithPort(m.c.Port), mail.WithTimeout(20 * time.Second)}
	switch {
	case m.c.ImplicitTLS:
		opts = append(opts, mail.WithSSL())
	case m.c.StartTLS == "off":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case m.c.StartTLS == "mandatory":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if m.c.TLSConfig != nil {
		opts = append(opts, mail.WithTLSConfig(m.c.TLSConfig))
	}
	if m.c.Username != "" {
		auth := mail.SMTPAuthAutoDiscover
		if !m.c.ImplicitTLS && m.c.StartTLS == "off" {
			// The URL asked for no TLS (?starttls=false), credentials and
			// all: a relay on a trusted network.
			auth = mail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(m.c.Username), mail.WithPassword(m.c.Password))
	}
	cl, err := mail.NewClient(m.c.Host, opts...)
	if err != nil {
		return fmt.Errorf("SMTP client for %s: %w", m.c, err)
	}
	if err := cl.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("SMTP %s:%d: %w", m.c.Host, m.c.Port, err)
	}
	return nil
}

// LogMailer is the mailer without --smtp-url: it prints each e-mail to the
// server log and keeps the last ones in memory (the demo shows them). The
// outbox row is the durable record either way.
type LogMailer struct {
	log  *slog.Logger
	keep int
	mu   sync.Mutex
	sent []Email
}

// NewLogMailer returns a log mailer keeping the last keep e-mails
// (default 200).
func NewLogMailer(log *slog.Logger, keep int) *LogMailer {
	if log == nil {
		log = slog.Default()
	}
	if keep <= 0 {
		keep = 200
	}
	return &LogMailer{log: log, keep: keep}
}

// Send implements Mailer.
func (m *LogMailer) Send(_ context.Context, e *Email) error {
	body := e.Text
	if e.Sensitive {
		body = "(withheld: it holds a single-use invitation link, which is never logged; configure --smtp-url to send invitations)"
	}
	m.log.Info("e-mail (no --smtp-url: logged, not sent)", "to", e.To, "subject", e.Subject, "notification", e.ID, "body", body)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, *e)
	if len(m.sent) > m.keep {
		m.sent = m.sent[len(m.sent)-m.keep:]
	}
	return nil
}

// Sent returns the kept e-mails, oldest first.
func (m *LogMailer) Sent() []Email {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Email(nil), m.sent...)
}
