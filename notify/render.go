package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"

	"github.com/lockbox-dev/lockbox"
)

//go:embed templates/*.tmpl
var templateFiles embed.FS

var funcs = map[string]any{
	"join": strings.Join,
	"time": func(v any) string {
		switch t := v.(type) {
		case time.Time:
			return t.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if t != nil {
				return t.UTC().Format("2006-01-02 15:04 UTC")
			}
		}
		return ""
	},
}

var (
	textTmpl = texttemplate.Must(texttemplate.New("email.txt.tmpl").Funcs(funcs).ParseFS(templateFiles, "templates/email.txt.tmpl"))
	htmlTmpl = htmltemplate.Must(htmltemplate.New("email.html.tmpl").Funcs(funcs).ParseFS(templateFiles, "templates/email.html.tmpl"))

	accountText = texttemplate.Must(texttemplate.New("account.txt.tmpl").Funcs(funcs).ParseFS(templateFiles, "templates/account.txt.tmpl"))
	accountHTML = htmltemplate.Must(htmltemplate.New("account.html.tmpl").Funcs(funcs).ParseFS(templateFiles, "templates/account.html.tmpl"))
)

// accountData is what the account e-mail templates render.
type accountData struct {
	Subject, Headline, Intro, Action, Link, Note string
	Roles                                        []string
	Copy                                         bool
	A                                            *lockbox.AccountSummary
}

// InvitationLink is the link of an invitation: <public-url>/invitations/<token>.
func InvitationLink(publicURL, token string) string {
	return strings.TrimRight(publicURL, "/") + "/invitations/" + token
}

// renderAccountEmail renders an e-mail about a user's account: an
// invitation (with its link, whose token the worker opened into a.Token),
// the notice of an operator's invitation to a tenant's notification
// e-mails (no link), or a password change.
func renderAccountEmail(n *lockbox.Notification, a *lockbox.AccountSummary, publicURL string) (*Email, error) {
	d := accountData{A: a}
	for _, r := range a.Roles {
		d.Roles = append(d.Roles, string(r))
	}
	who := a.ActorName
	if who == "" {
		who = "an administrator"
	}
	org := "lockbox"
	if a.TenantName != "" {
		org = a.TenantName + "'s lockbox"
	}
	sensitive := false
	switch n.Kind {
	case lockbox.NotifyInvitation:
		if a.Token == "" {
			return nil, errors.New("the invitation e-mail has no link to send")
		}
		d.Subject = fmt.Sprintf("[lockbox] You are invited to %s", org)
		d.Headline = "You are invited to lockbox"
		d.Intro = fmt.Sprintf("%s invited you (%s) to %s. Choose your own password with the link below; nobody else knows or sets it.", who, a.Email, org)
		if a.SecondFactor {
			d.Intro += " Your roles need a second factor: you enrol an authenticator app (TOTP) in the same step."
		}
		d.Action, d.Link = "Accept the invitation (the link works once):", InvitationLink(publicURL, a.Token)
		d.Note = "If you did not expect this invitation, do not use the link and tell your administrator."
		sensitive = true
	case lockbox.NotifyInvitationNotice:
		d.Subject = fmt.Sprintf("[lockbox] %s was invited as an administrator of %s", a.Email, a.TenantName)
		d.Headline = "The operator invited an administrator of your organisation"
		d.Intro = fmt.Sprintf("%s invited %s <%s> as %s of %s. The invitation link went to that address only. If you do not know this person, tell your operator's support at once.",
			who, a.Name, a.Email, strings.Join(d.Roles, ", "), a.TenantName)
		d.Copy = true
	case lockbox.NotifyPasswordChanged:
		d.Subject = "[lockbox] Your password was changed"
		d.Headline = "Your lockbox password was changed"
		d.Intro = fmt.Sprintf("The password of your account %s was changed at %s; every other session and API token of yours ended.", a.Email, funcs["time"].(func(any) string)(a.At))
		d.Note = "If you did not change it, tell your administrator at once: they can re-invite you, which ends the changed password."
	default:
		return nil, fmt.Errorf("no account e-mail for notification kind %q", n.Kind)
	}
	var text, html bytes.Buffer
	if err := accountText.Execute(&text, d); err != nil {
		return nil, fmt.Errorf("rendering the text part: %w", err)
	}
	if err := accountHTML.Execute(&html, d); err != nil {
		return nil, fmt.Errorf("rendering the HTML part: %w", err)
	}
	return &Email{ID: n.ID, To: n.Recipient, Subject: d.Subject, Text: text.String(), HTML: html.String(), Sensitive: sensitive}, nil
}

// emailData is what the templates render.
type emailData struct {
	Subject      string
	Headline     string
	Intro        string
	Action       string
	Link         string
	ShowDeadline bool
	R            *lockbox.RequestSummary
}

// RequestLink is the link to a request in e-mails: <public-url>/requests/<id>.
func RequestLink(publicURL string, id lockbox.RequestID) string {
	return strings.TrimRight(publicURL, "/") + "/requests/" + string(id)
}

// RenderEmail renders the e-mail of a notification: subject, plain text and
// HTML, from the embedded templates.
func RenderEmail(n *lockbox.Notification, p *lockbox.NotificationPayload, publicURL string) (*Email, error) {
	if p.Account != nil {
		return renderAccountEmail(n, p.Account, publicURL)
	}
	r := p.Request
	if r == nil {
		return nil, errors.New("the notification has no request to tell of")
	}
	d := emailData{R: r, Link: RequestLink(publicURL, r.ID), Action: "See the request:"}
	who := r.RequesterName
	if who == "" {
		who = string(r.RequesterID)
	}
	level := fmt.Sprintf("%s access to %s", r.AccessLevel, strings.Join(r.Resources, ", "))
	switch n.Kind {
	case lockbox.NotifyApprovalNeeded:
		d.Subject = fmt.Sprintf("[lockbox] Approval needed: %s asks for %s access (%s)", who, r.AccessLevel, r.TenantName)
		d.Headline = "An operator engineer asks for access to your data"
		d.Intro = fmt.Sprintf("%s asks for %s for %s. Nothing is accessed unless your approvers approve; without a decision by %s the request expires.",
			who, level, r.RequestedDuration, funcs["time"].(func(any) string)(r.DecisionDeadline))
		d.Action, d.ShowDeadline = "Approve or deny the request:", true
	case lockbox.NotifyReminder:
		d.Subject = fmt.Sprintf("[lockbox] Reminder: decide on %s's access request before %s", who, funcs["time"].(func(any) string)(r.DecisionDeadline))
		d.Headline = "An access request still awaits your decision"
		d.Intro = fmt.Sprintf("%s's request for %s expires unanswered at its decision deadline.", who, level)
		d.Action, d.ShowDeadline = "Approve or deny the request:", true
	case lockbox.NotifyDecision:
		if r.Decision == nil {
			return nil, errors.New("the decision notification has no decision")
		}
		verb := "approved"
		if r.Decision.Decision == lockbox.DecisionDeny {
			verb = "denied"
		}
		d.Subject = fmt.Sprintf("[lockbox] %s %s your access request %s (%s review)", r.Decision.ReviewerName, verb, r.ID, r.Decision.Stage)
		d.Headline = fmt.Sprintf("Your access request was %s at the %s review", verb, r.Decision.Stage)
		d.Intro = fmt.Sprintf("%s %s your request for %s. The request is now %s.", r.Decision.ReviewerName, verb, level, r.Status)
	case lockbox.NotifyApproved:
		d.Subject = fmt.Sprintf("[lockbox] Access approved: %s has %s access (%s)", who, r.AccessLevel, r.TenantName)
		d.Headline = "Access to your data was approved"
		d.Intro = fmt.Sprintf("%s may now use %s until the window ends. Your approvers and admins can revoke it at any moment.", who, level)
		d.Action = "See or revoke the access:"
	case lockbox.NotifyRevoked:
		d.Subject = fmt.Sprintf("[lockbox] Access revoked: request %s", r.ID)
		d.Headline = "Access was revoked"
		d.Intro = fmt.Sprintf("The access of %s (%s) was revoked%s.", who, level, by(r.ActorName))
	case lockbox.NotifyCompleted:
		d.Subject = fmt.Sprintf("[lockbox] Access ended: request %s (%s)", r.ID, r.EndReason)
		d.Headline = "Access ended"
		d.Intro = fmt.Sprintf("The access of %s (%s) ended: %s.", who, level, strings.ReplaceAll(r.EndReason, "_", " "))
	case lockbox.NotifyExpired:
		d.Subject = fmt.Sprintf("[lockbox] Request %s expired unanswered", r.ID)
		d.Headline = "An access request expired without a decision"
		d.Intro = fmt.Sprintf("%s's request for %s reached its decision deadline without a decision. No access was granted.", who, level)
	default:
		return nil, fmt.Errorf("no e-mail for notification kind %q", n.Kind)
	}
	var text, html bytes.Buffer
	if err := textTmpl.Execute(&text, d); err != nil {
		return nil, fmt.Errorf("rendering the text part: %w", err)
	}
	if err := htmlTmpl.Execute(&html, d); err != nil {
		return nil, fmt.Errorf("rendering the HTML part: %w", err)
	}
	return &Email{ID: n.ID, To: n.Recipient, Subject: d.Subject, Text: text.String(), HTML: html.String()}, nil
}

func by(name string) string {
	if name == "" {
		return ""
	}
	return " by " + name
}

// summaryLine is the one-line text of an event, for Slack and Teams: esc
// escapes every value that comes from a user (names, resources, the tenant's
// name) for the receiver's markup; the link is the server's own.
func summaryLine(e *eventJSON, r *lockbox.RequestSummary, link string, esc func(string) string) string {
	if r == nil {
		return fmt.Sprintf("lockbox: %s in tenant %s", esc(string(e.Type)), esc(string(e.TenantID)))
	}
	who := r.RequesterName
	if who == "" {
		who = string(r.RequesterID)
	}
	s := fmt.Sprintf("lockbox: %s — %s's %s access request to %s (%s) is %s", esc(string(e.Type)), esc(who), esc(string(r.AccessLevel)),
		esc(strings.Join(r.Resources, ", ")), esc(r.TenantName), esc(string(r.Status)))
	if r.Decision != nil {
		s += fmt.Sprintf(" (%s %s at the %s review)", esc(r.Decision.ReviewerName), esc(string(r.Decision.Decision)), esc(string(r.Decision.Stage)))
	}
	if r.Status == lockbox.StatusPendingCustomer {
		s += "; decide before " + funcs["time"].(func(any) string)(r.DecisionDeadline)
	}
	return s + ". " + link
}

// oneLine turns control characters (newlines above all, which could start
// a heading or a list in markdown) into spaces.
func oneLine(s string) string {
	return strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return ' '
		}
		return c
	}, s)
}

// slackEscape makes s inert in Slack's mrkdwn: Slack reads "<…>" as links,
// mentions (<!channel>, <@U123>) and dates, and wants &, < and > escaped as
// HTML entities in any text that is not markup
// (https://api.slack.com/reference/surfaces/formatting#escaping).
func slackEscape(s string) string {
	return slackEscaper.Replace(oneLine(s))
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// teamsEscape makes s inert in a Teams message's text, which Teams renders
// as markdown with some HTML: HTML's specials become entities, and every
// markdown character that could make a link ([text](url)), an image, a
// heading, emphasis or code is escaped with a backslash.
func teamsEscape(s string) string {
	return teamsEscaper.Replace(oneLine(s))
}

var teamsEscaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;",
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "~", `\~`, "[", `\[`, "]", `\]`, "(", `\(`, ")", `\)`,
	"#", `\#`, "|", `\|`, "!", `\!`, "{", `\{`, "}", `\}`,
)
