package httpapi_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// Invariant 6: concurrent decisions resolve to exactly one outcome.

// shot is one call fired in a race.
type shot struct {
	name         string
	method, path string
	token        string
	body         any
}

// race fires the shots at once and returns their answers, in order.
func (e *env) race(shots []shot, extra ...func()) []resp {
	e.t.Helper()
	out := make([]resp, len(shots))
	errs := make([]error, len(shots))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range shots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i], errs[i] = e.do(s.method, s.path, s.token, s.body)
		}()
	}
	for _, f := range extra {
		wg.Add(1)
		go func() { defer wg.Done(); <-start; f() }()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			e.t.Fatalf("%s: %v", shots[i].name, err)
		}
	}
	return out
}

// countEvents counts a request's events by type.
func countEvents(evs []*lockbox.Event, id lockbox.RequestID) map[string]int {
	n := map[string]int{}
	for _, t := range requestEvents(evs, id) {
		n[t]++
	}
	return n
}

func TestConcurrentDecisionsHaveOneOutcome(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Race")
	approvers := []*user{w.customerAdmin, w.approver}
	for range 5 {
		approvers = append(approvers, e.customer(w, lockbox.RoleLockboxApprover))
	}

	t.Run("approve_and_deny", func(t *testing.T) {
		e := e.withT(t)
		e.setLockbox(w, map[string]any{"approvals_required": 1})
		outcomes := map[lockbox.RequestStatus]int{}
		for round := range 5 {
			r := e.pendingCustomer(w)
			var shots []shot
			for i := range 50 {
				a := approvers[(i+round)%len(approvers)]
				if (i+round)%2 == 0 {
					shots = append(shots, shot{fmt.Sprintf("approve %d", i), "POST", reqPath(r.ID, "approve"), a.token, lockbox.ApproveInput{Reason: "yes"}})
				} else {
					shots = append(shots, shot{fmt.Sprintf("deny %d", i), "POST", reqPath(r.ID, "deny"), a.token, lockbox.ReasonInput{Reason: "no"}})
				}
			}
			res := e.race(shots)
			winners := 0
			var want lockbox.RequestStatus
			for i, rs := range res {
				switch rs.Status {
				case 200:
					winners++
					want = lockbox.StatusApproved
					if shots[i].path == reqPath(r.ID, "deny") {
						want = lockbox.StatusDenied
					}
				case 409:
					if rs.errCode() != lockbox.CodeConflict {
						t.Errorf("%s: 409 with code %q", shots[i].name, rs.errCode())
					}
				default:
					t.Errorf("%s: %d %s, want 200 or 409", shots[i].name, rs.Status, rs.Body)
				}
			}
			if winners != 1 {
				t.Fatalf("round %d: %d calls succeeded, want exactly 1", round, winners)
			}
			got := e.getRequest(w, r.ID)
			if got.Status != want {
				t.Fatalf("round %d: the request is %s, the winner made it %s", round, got.Status, want)
			}
			outcomes[want]++
			n := countEvents(e.events(w.tenant.ID), r.ID)
			if n["request.approved"]+n["request.denied"] != 1 || n["request."+string(want)] != 1 {
				t.Errorf("round %d: outcome events %v", round, n)
			}
			// One internal review, plus the winner's.
			if n["request.reviewed"] != 1+winners || len(got.Reviews) != 1+winners {
				t.Errorf("round %d: %d request.reviewed events and %d reviews for %d successful calls", round, n["request.reviewed"], len(got.Reviews), winners)
			}
		}
		t.Logf("outcomes over the rounds: %v", outcomes)
	})

	t.Run("two_approvals_required", func(t *testing.T) {
		e := e.withT(t)
		e.setLockbox(w, map[string]any{"approvals_required": 2})
		for round := range 2 {
			r := e.pendingCustomer(w)
			var shots []shot
			for i := range 50 {
				a := approvers[(i+round)%len(approvers)]
				shots = append(shots, shot{fmt.Sprintf("approve %d by %s", i, a.Email), "POST", reqPath(r.ID, "approve"), a.token, lockbox.ApproveInput{Reason: "yes"}})
			}
			res := e.race(shots)
			ok := 0
			for i, rs := range res {
				switch rs.Status {
				case 200:
					ok++
				case 409:
				default:
					t.Errorf("%s: %d %s", shots[i].name, rs.Status, rs.Body)
				}
			}
			got := e.getRequest(w, r.ID)
			if ok != 2 || got.Status != lockbox.StatusApproved {
				t.Fatalf("round %d: %d approvals succeeded and the request is %s, want 2 and approved", round, ok, got.Status)
			}
			seen := map[lockbox.UserID]bool{}
			for _, rv := range got.Reviews {
				if rv.Stage == lockbox.StageCustomer {
					if seen[rv.ReviewerID] {
						t.Errorf("round %d: %s reviewed twice", round, rv.ReviewerID)
					}
					seen[rv.ReviewerID] = true
				}
			}
			if len(seen) != 2 {
				t.Errorf("round %d: %d distinct customer reviewers, want 2", round, len(seen))
			}
			n := countEvents(e.events(w.tenant.ID), r.ID)
			if n["request.approved"] != 1 || n["request.reviewed"] != 3 {
				t.Errorf("round %d: events %v", round, n)
			}
		}
		e.setLockbox(w, map[string]any{"approvals_required": 1})
	})

	t.Run("end_approved_access", func(t *testing.T) {
		e := e.withT(t)
		for round := range 3 {
			r := e.approvedRequest(w, w.ticket.ID, "2h")
			var shots []shot
			for i := range 20 {
				switch (i + round) % 5 {
				case 0:
					shots = append(shots, shot{fmt.Sprintf("cancel %d", i), "POST", reqPath(r.ID, "cancel"), w.engineer.token, nil})
				case 1:
					shots = append(shots, shot{fmt.Sprintf("complete %d", i), "POST", reqPath(r.ID, "complete"), w.engineer.token, nil})
				case 2:
					shots = append(shots, shot{fmt.Sprintf("revoke by approver %d", i), "POST", reqPath(r.ID, "revoke"), w.approver.token, lockbox.ReasonInput{Reason: "stop"}})
				case 3:
					shots = append(shots, shot{fmt.Sprintf("revoke by tenant admin %d", i), "POST", reqPath(r.ID, "revoke"), w.customerAdmin.token, lockbox.ReasonInput{Reason: "stop"}})
				case 4:
					shots = append(shots, shot{fmt.Sprintf("revoke by operator admin %d", i), "POST", reqPath(r.ID, "revoke"), w.opAdmin.token, lockbox.ReasonInput{Reason: "stop"}})
				}
			}
			res := e.race(shots)
			winners := 0
			var want lockbox.RequestStatus
			for i, rs := range res {
				switch rs.Status {
				case 200:
					winners++
					want = lockbox.StatusRevoked
					if shots[i].path == reqPath(r.ID, "complete") {
						want = lockbox.StatusCompleted
					}
					if shots[i].path == reqPath(r.ID, "cancel") {
						t.Errorf("%s succeeded on approved access", shots[i].name)
					}
				case 409:
				default:
					t.Errorf("%s: %d %s, want 200 or 409", shots[i].name, rs.Status, rs.Body)
				}
			}
			if winners != 1 {
				t.Fatalf("round %d: %d calls succeeded, want exactly 1", round, winners)
			}
			got := e.getRequest(w, r.ID)
			if got.Status != want {
				t.Fatalf("round %d: the request is %s, the winner made it %s", round, got.Status, want)
			}
			n := countEvents(e.events(w.tenant.ID), r.ID)
			if n["request.completed"]+n["request.revoked"]+n["request.canceled"] != 1 || n["request."+string(want)] != 1 {
				t.Errorf("round %d: ending events %v", round, n)
			}
		}
	})

	t.Run("decisions_racing_the_deadline", func(t *testing.T) {
		e := e.withT(t)
		e.setLockbox(w, map[string]any{"pending_ttl": "10m"})
		for round := range 3 {
			r := e.pendingCustomer(w)
			var shots []shot
			for i := range 20 {
				a := approvers[(i+round)%len(approvers)]
				if i%2 == 0 {
					shots = append(shots, shot{fmt.Sprintf("approve %d", i), "POST", reqPath(r.ID, "approve"), a.token, lockbox.ApproveInput{Reason: "yes"}})
				} else {
					shots = append(shots, shot{fmt.Sprintf("read %d", i), "GET", reqPath(r.ID), a.token, nil})
				}
			}
			deadline := r.DecisionDeadline
			res := e.race(shots, func() {
				time.Sleep(time.Duration(round) * 5 * time.Millisecond)
				e.clock.Advance(deadline.Sub(e.clock.Now()) + time.Second)
			})
			approvals := 0
			for i, rs := range res {
				switch {
				case rs.Status == 200 && shots[i].method == "POST":
					approvals++
				case rs.Status == 200, rs.Status == 409 && shots[i].method == "POST":
				default:
					t.Errorf("%s: %d %s", shots[i].name, rs.Status, rs.Body)
				}
			}
			got := e.getRequest(w, r.ID)
			n := countEvents(e.events(w.tenant.ID), r.ID)
			switch got.Status {
			case lockbox.StatusApproved:
				if approvals != 1 || n["request.approved"] != 1 || n["request.expired"] != 0 {
					t.Errorf("round %d: approved with %d successful approvals, events %v", round, approvals, n)
				}
			case lockbox.StatusExpired:
				if approvals != 0 || n["request.expired"] != 1 || n["request.approved"] != 0 {
					t.Errorf("round %d: expired with %d successful approvals, events %v", round, approvals, n)
				}
			default:
				t.Errorf("round %d: %s, want approved or expired", round, got.Status)
			}
			t.Logf("round %d: %s", round, got.Status)
		}
	})
}
