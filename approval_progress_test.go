package lockbox_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/notify"
)

// TestPartialApprovalIsTold: after the first of two customer approvals the
// request reads "1 of 2" with the approver's name, and the e-mail that tells
// the requester of the approval says so too.
func TestPartialApprovalIsTold(t *testing.T) {
	e := newDomainEnv(t)
	e.changeSettings(e.acme.ID, func(s *lockbox.LockboxSettings) { s.ApprovalsRequired = 2 })
	e.policy.set(allowWith())
	r := e.request(e.ticket, time.Hour)
	r, err := e.svc.Review(e.ctx, e.mfa(e.apr1), r.ID, lockbox.ReviewInput{Decision: lockbox.DecisionApprove, Reason: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	p := r.CustomerApprovals
	if r.Status != lockbox.StatusPendingCustomer || p == nil || p.Counted != 1 || p.Required != 2 || len(p.By) != 1 || p.By[0] != e.apr1.DisplayName {
		t.Fatalf("after one of two approvals: %s, progress %+v", r.Status, p)
	}
	var ns []*lockbox.Notification
	if err := e.store.View(e.ctx, func(rd lockbox.Reader) error {
		var err error
		ns, err = rd.ListNotifications(e.ctx, lockbox.NotificationFilter{RequestID: r.ID})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	told := false
	for _, n := range ns {
		if n.Kind != lockbox.NotifyDecision || n.Channel != lockbox.ChannelEmail {
			continue
		}
		var pl lockbox.NotificationPayload
		if err := json.Unmarshal(n.Payload, &pl); err != nil {
			t.Fatal(err)
		}
		m, err := notify.RenderEmail(n, &pl, "https://lockbox.example.com")
		if err != nil {
			t.Fatal(err)
		}
		want := "1 of 2 customer approvals (" + e.apr1.DisplayName + ")"
		if !strings.Contains(m.Text, want) {
			t.Errorf("the decision e-mail to %s does not say %q:\n%s", n.Recipient, want, m.Text)
		}
		told = true
	}
	if !told {
		t.Fatal("nobody was e-mailed of the first approval")
	}
}
