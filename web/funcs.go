package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lockbox-dev/lockbox"
)

var funcs = template.FuncMap{
	"when":     when,
	"left":     left,
	"status":   statusLabel,
	"reason":   reasonLabel,
	"role":     roleLabel,
	"severity": severityLabel,
	"join":     strings.Join,
	"lines":    func(s []string) string { return strings.Join(s, "\n") },
	"dur":      dur,
	"ended":    endLabel,
	"stage":    func(s lockbox.Stage) string { return label(stageLabels, s) },
	"decision": func(d lockbox.ReviewDecision) string { return label(decisionLabels, d) },
	"level":    func(l lockbox.AccessLevel) string { return label(levelLabels, l) },
	"tstatus":  func(s lockbox.TicketStatus) string { return label(ticketStatusLabels, s) },
	"kind":     func(k lockbox.UserKind) string { return label(kindLabels, k) },
	"event":    eventLabel,
	"nkind":    func(k lockbox.NotificationKind) string { return label(notificationKindLabels, k) },
	"channel":  func(c lockbox.NotificationChannel) string { return label(channelLabels, c) },
	"nstatus":  func(s lockbox.NotificationStatus) string { return label(notificationStatusLabels, s) },
	"fields":   eventFields,
	"clip":     clip,
	"deref": func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	},
	"row": func(r *lockbox.AccessRequest, now time.Time) reqRow { return reqRow{R: r, Now: now} },
	"table": func(caption string, items []*lockbox.AccessRequest, now time.Time) reqTable {
		return reqTable{Caption: caption, Items: items, Now: now}
	},
}

// when formats a time for people: UTC, to the minute.
func when(t any) string {
	switch v := t.(type) {
	case time.Time:
		if v.IsZero() {
			return "—"
		}
		return v.UTC().Format("2006-01-02 15:04 UTC")
	case *time.Time:
		if v == nil {
			return "—"
		}
		return when(*v)
	}
	return ""
}

// left says how long until a deadline, as a person would.
func left(deadline, now time.Time) string {
	d := deadline.Sub(now)
	if d <= 0 {
		return "deadline passed"
	}
	return humanDuration(d) + " left"
}

// dur writes a duration for people ("1 h 30 min"); it takes a
// lockbox.Duration, a time.Duration or a Go duration string.
func dur(v any) string {
	switch d := v.(type) {
	case lockbox.Duration:
		return humanDuration(d.D())
	case time.Duration:
		return humanDuration(d)
	case string:
		if p, err := time.ParseDuration(d); err == nil {
			return humanDuration(p)
		}
		return d
	}
	return fmt.Sprint(v)
}

// humanDuration writes a duration in days, hours and minutes with their
// units spelled for reading ("1 d 2 h", "1 h 30 min"), or in seconds when
// under a minute ("45 s").
func humanDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d s", int(d.Round(time.Second).Seconds()))
	}
	d = d.Round(time.Minute)
	days, h, m := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	if days > 0 {
		parts = append(parts, fmt.Sprintf("%d d", days))
	}
	if h > 0 {
		parts = append(parts, fmt.Sprintf("%d h", h))
	}
	if m > 0 {
		parts = append(parts, fmt.Sprintf("%d min", m))
	}
	return strings.Join(parts, " ")
}

// clip shortens s to at most n runes, marking the cut.
func clip(n int, s string) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// shortDuration writes a duration in days, hours and minutes, or seconds
// when under a minute, as a form field holds it ("1d 2h"):
// parseDurationField reads it back.
func shortDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
	}
	d = d.Round(time.Minute)
	days, h, m := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	if days > 0 {
		parts = append(parts, fmt.Sprintf("%dd", days))
	}
	if h > 0 {
		parts = append(parts, fmt.Sprintf("%dh", h))
	}
	if m > 0 {
		parts = append(parts, fmt.Sprintf("%dm", m))
	}
	return strings.Join(parts, " ")
}

// label returns the words for a value, or the value itself when it has
// none.
func label[K ~string](labels map[K]string, k K) string {
	if l, ok := labels[k]; ok {
		return l
	}
	return string(k)
}

var statusLabels = map[lockbox.RequestStatus]string{
	lockbox.StatusPendingInternal: "Awaiting internal approval",
	lockbox.StatusPendingCustomer: "Awaiting customer approval",
	lockbox.StatusApproved:        "Approved: access open",
	lockbox.StatusDenied:          "Denied",
	lockbox.StatusExpired:         "Expired undecided",
	lockbox.StatusCanceled:        "Canceled",
	lockbox.StatusRevoked:         "Revoked",
	lockbox.StatusCompleted:       "Completed",
}

func statusLabel(s lockbox.RequestStatus) string { return label(statusLabels, s) }

var reasonLabels = map[lockbox.ReasonType]string{
	lockbox.ReasonCustomerInitiated: "Customer-initiated support",
	lockbox.ReasonOperatorInitiated: "Operator-initiated service",
	lockbox.ReasonIncident:          "Incident response",
	lockbox.ReasonLegal:             "Legal request",
}

func reasonLabel(r lockbox.ReasonType) string { return label(reasonLabels, r) }

var roleLabels = map[lockbox.Role]string{
	lockbox.RoleOperatorAdmin:   "operator admin",
	lockbox.RoleEngineer:        "engineer",
	lockbox.RoleGateway:         "gateway",
	lockbox.RoleTenantAdmin:     "tenant admin",
	lockbox.RoleLockboxApprover: "lockbox approver",
	lockbox.RoleMember:          "member",
}

func roleLabel(r lockbox.Role) string { return label(roleLabels, r) }

var endLabels = map[string]string{
	lockbox.EndDurationElapsed:      "the granted time ran out",
	lockbox.EndTicketResolved:       "the ticket was resolved",
	lockbox.EndReleased:             "released early by the engineer",
	lockbox.EndRevoked:              "revoked",
	lockbox.EndDenied:               "denied",
	lockbox.EndExpired:              "no decision before the deadline",
	lockbox.EndCanceled:             "canceled",
	lockbox.EndRequesterRemoved:     "the requester was removed",
	lockbox.EndRequesterRoleRemoved: "the requester lost the role to request access",
}

func endLabel(r string) string { return label(endLabels, r) }

var stageLabels = map[lockbox.Stage]string{
	lockbox.StageInternal: "internal",
	lockbox.StageCustomer: "customer",
}

var decisionLabels = map[lockbox.ReviewDecision]string{
	lockbox.DecisionApprove: "Approved",
	lockbox.DecisionDeny:    "Denied",
}

var levelLabels = map[lockbox.AccessLevel]string{
	lockbox.LevelRead:  "read",
	lockbox.LevelWrite: "read and write",
	lockbox.LevelAdmin: "admin",
}

var ticketStatusLabels = map[lockbox.TicketStatus]string{
	lockbox.TicketOpen:     "Open",
	lockbox.TicketResolved: "Resolved",
}

var kindLabels = map[lockbox.UserKind]string{
	lockbox.KindOperator: "operator staff",
	lockbox.KindCustomer: "customer",
}

var eventLabels = map[lockbox.EventType]string{
	lockbox.EventTenantCreated:           "Tenant created",
	lockbox.EventLockboxUpdated:          "Lockbox settings changed",
	lockbox.EventWebhookSecretRotated:    "Webhook secret rotated",
	lockbox.EventUserCreated:             "User added",
	lockbox.EventUserUpdated:             "User changed",
	lockbox.EventUserDeleted:             "User removed",
	lockbox.EventTokenCreated:            "API token created",
	lockbox.EventTOTPEnabled:             "One-time codes turned on",
	lockbox.EventUserInvited:             "User invited",
	lockbox.EventInvitationAccepted:      "Invitation accepted",
	lockbox.EventInvitationRevoked:       "Invitation revoked",
	lockbox.EventTicketCreated:           "Ticket opened",
	lockbox.EventTicketCommented:         "Ticket comment",
	lockbox.EventTicketResolved:          "Ticket resolved",
	lockbox.EventRequestCreated:          "Access requested",
	lockbox.EventRequestRefused:          "Request refused by policy",
	lockbox.EventRequestReviewed:         "Request reviewed",
	lockbox.EventRequestPendingCust:      "Awaiting customer approval",
	lockbox.EventRequestApproved:         "Access approved",
	lockbox.EventRequestDenied:           "Access denied",
	lockbox.EventRequestExpired:          "Request expired undecided",
	lockbox.EventRequestCanceled:         "Request canceled",
	lockbox.EventRequestRevoked:          "Access revoked",
	lockbox.EventRequestCompleted:        "Access ended",
	lockbox.EventOperatorUserChanged:     "Operator staff changed",
	lockbox.EventPolicyReloaded:          "Access policy reloaded",
	lockbox.EventAccessAllowed:           "Data access allowed",
	lockbox.EventAccessRefused:           "Data access refused",
	lockbox.EventAccessCompleted:         "Data access completed",
	lockbox.EventAccessRecorded:          "Data access recorded",
	lockbox.EventAccessUnverifiedSummary: "Unverified access records",
	lockbox.EventTokenIssued:             "Access token issued",
}

// eventLabel names an event type in words; a type without words (such as
// a data access recorded by the gateway) reads as its dotted name with
// spaces.
func eventLabel(t lockbox.EventType) string {
	if l, ok := eventLabels[t]; ok {
		return l
	}
	return sentenceCase(strings.NewReplacer(".", ": ", "_", " ").Replace(string(t)))
}

var notificationKindLabels = map[lockbox.NotificationKind]string{
	lockbox.NotifyApprovalNeeded:   "approval needed",
	lockbox.NotifyReminder:         "reminder",
	lockbox.NotifyDecision:         "decision",
	lockbox.NotifyApproved:         "access approved",
	lockbox.NotifyRevoked:          "access revoked",
	lockbox.NotifyCompleted:        "access ended",
	lockbox.NotifyExpired:          "request expired",
	lockbox.NotifyEvent:            "event",
	lockbox.NotifyInvitation:       "invitation",
	lockbox.NotifyInvitationNotice: "invitation notice",
	lockbox.NotifyPasswordChanged:  "password changed",
}

var channelLabels = map[lockbox.NotificationChannel]string{
	lockbox.ChannelEmail:   "e-mail",
	lockbox.ChannelWebhook: "webhook",
}

var notificationStatusLabels = map[lockbox.NotificationStatus]string{
	lockbox.NotificationPending:   "pending",
	lockbox.NotificationDelivered: "delivered",
	lockbox.NotificationFailed:    "failed",
}

func sentenceCase(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

func severityLabel(n int) string {
	switch n {
	case 1:
		return "1 (critical)"
	case 2:
		return "2 (high)"
	case 3:
		return "3 (medium)"
	case 4:
		return "4 (low)"
	}
	return fmt.Sprint(n)
}

// field is one fact of an event's data, as shown.
type field struct{ Label, Value string }

// fieldLabels words the keys of event data; other keys read as their
// words ("decision_deadline" as "Decision deadline").
var fieldLabels = map[string]string{
	"access_level": "Access level", "reason_type": "Reason", "requested_duration": "Duration asked",
	"decision_deadline": "Decision deadline", "expires_at": "Expires", "mfa": "Second factor",
	"totp_enabled": "One-time codes", "jti": "Token id", "url": "URL", "user_id": "User",
	"requester_id": "Requester", "assignee_id": "Assignee", "ticket_id": "Ticket", "token_id": "Token",
	"comment_id": "Comment", "invitation_id": "Invitation", "invited_by": "Invited by",
	"end_reason": "Ended because", "max_duration": "Longest access", "pending_ttl": "Decision deadline",
	"max_access_duration": "Longest access", "approvals_required": "Approvals required",
}

func fieldLabel(k string) string {
	if l, ok := fieldLabels[k]; ok {
		return l
	}
	return sentenceCase(strings.ReplaceAll(k, "_", " "))
}

// eventFields shows an event's data as labelled facts, in the order the
// log holds them: keys in words, times, durations and known values (statuses,
// reasons, roles …) as the rest of the portal writes them. A nested object
// is flattened one level ("Policy: allowed"); anything deeper is shown
// compactly. Templates escape the values.
func eventFields(e *lockbox.Event) []field {
	if len(e.Data) == 0 {
		return nil
	}
	keys, vals, ok := orderedObject(e.Data)
	if !ok {
		return []field{{Label: "Data", Value: clip(300, string(e.Data))}}
	}
	var out []field
	for i, k := range keys {
		if ks, vs, ok := orderedObject(vals[i]); ok {
			for j, k2 := range ks {
				out = append(out, field{Label: fieldLabel(k) + ": " + strings.ToLower(fieldLabel(k2)[:1]) + fieldLabel(k2)[1:], Value: fieldValue(k2, vs[j])})
			}
			if len(ks) == 0 {
				out = append(out, field{Label: fieldLabel(k), Value: "—"})
			}
			continue
		}
		out = append(out, field{Label: fieldLabel(k), Value: fieldValue(k, vals[i])})
	}
	return out
}

// orderedObject reads a JSON object's keys and raw values in order.
func orderedObject(b []byte) ([]string, []json.RawMessage, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, false
	}
	var keys []string
	var vals []json.RawMessage
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, nil, false
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, nil, false
		}
		keys, vals = append(keys, k), append(vals, v)
	}
	return keys, vals, true
}

// goDuration matches the duration strings the log holds ("1h0m0s").
var goDuration = regexp.MustCompile(`^(\d+h)?(\d+m)?(\d+(\.\d+)?(s|ms|µs|ns))?$`)

// fieldValue formats one value of event data.
func fieldValue(key string, raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	switch v := v.(type) {
	case nil:
		return "—"
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case float64:
		if key == "severity" {
			return severityLabel(int(v))
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		return stringValue(key, v)
	case []any:
		parts := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				parts = append(parts, stringValue(key, s))
				continue
			}
			b, _ := json.Marshal(x)
			parts = append(parts, fieldValue(key, b))
		}
		if len(parts) == 0 {
			return "—"
		}
		return clip(300, strings.Join(parts, ", "))
	}
	if m, ok := v.(map[string]any); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			b, _ := json.Marshal(m[k])
			parts = append(parts, strings.ToLower(fieldLabel(k))+" "+fieldValue(k, b))
		}
		return clip(300, strings.Join(parts, ", "))
	}
	b, _ := json.Marshal(v)
	return clip(300, string(b))
}

// stringValue formats a string of event data: times, durations and the
// values the portal has words for.
func stringValue(key, s string) string {
	if s == "" {
		return "—"
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return when(t)
	}
	if s != "0" && goDuration.MatchString(s) && strings.ContainsAny(s, "hms") {
		if d, err := time.ParseDuration(s); err == nil {
			return humanDuration(d)
		}
	}
	switch key {
	case "status", "from", "to":
		if l, ok := statusLabels[lockbox.RequestStatus(s)]; ok {
			return l
		}
	case "reason_type":
		return reasonLabel(lockbox.ReasonType(s))
	case "roles", "role":
		return roleLabel(lockbox.Role(s))
	case "access_level":
		return label(levelLabels, lockbox.AccessLevel(s))
	case "stage":
		return label(stageLabels, lockbox.Stage(s))
	case "decision":
		return label(decisionLabels, lockbox.ReviewDecision(s))
	case "kind", "opened_by", "severity_set_by":
		return label(kindLabels, lockbox.UserKind(s))
	case "end_reason", "reason":
		if l, ok := endLabels[s]; ok {
			return l
		}
	}
	return clip(300, s)
}

// reqRow and reqTable carry a request list and the time into the shared
// table templates.
type reqRow struct {
	R   *lockbox.AccessRequest
	Now time.Time
}

type reqTable struct {
	Caption string
	Items   []*lockbox.AccessRequest
	Now     time.Time
}
