package web

import (
	"encoding/json"
	"fmt"
	"html/template"
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
	"data":     eventData,
	"lines":    func(s []string) string { return strings.Join(s, "\n") },
	"dur":      func(d lockbox.Duration) string { return shortDuration(d.D()) },
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
	return shortDuration(d) + " left"
}

// shortDuration writes a duration in days, hours and minutes, or seconds
// when under a minute.
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

// eventData shows an event's data compactly; templates escape it.
func eventData(e *lockbox.Event) string {
	if len(e.Data) == 0 {
		return ""
	}
	var v any
	if json.Unmarshal(e.Data, &v) != nil {
		return string(e.Data)
	}
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
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
