package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/lockbox-dev/lockbox"
)

// home sends each user to where their work is.
func (h *Handler) home(w http.ResponseWriter, r *http.Request, s *session) {
	switch {
	case s.Approver():
		http.Redirect(w, r, "/requests", http.StatusSeeOther)
	case s.Customer():
		http.Redirect(w, r, "/tickets", http.StatusSeeOther)
	case s.Operator() && len(s.U().Groups) > 0:
		// Group members (support leads, …) are who policies name as
		// internal approvers: their work is the approvals queue.
		http.Redirect(w, r, "/approvals", http.StatusSeeOther)
	case s.Engineer():
		http.Redirect(w, r, "/tickets", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/requests", http.StatusSeeOther)
	}
}

type requestListView struct {
	Customer bool
	Pending  []*lockbox.AccessRequest
	Active   []*lockbox.AccessRequest
	History  []*lockbox.AccessRequest
	Status   lockbox.RequestStatus
	Statuses []lockbox.RequestStatus
	// Next is the token of the history's next (older) page; Paged says
	// this page is not the first.
	Next  string
	Paged bool
}

func (v *requestListView) title() string {
	if v.Customer {
		return "Lockbox: access requests"
	}
	return "Access requests"
}

// listSize bounds the lists shown whole: what waits for a decision, open
// access, a ticket's requests, one's own requests.
const listSize = 500

// requestList is the lockbox's front page: requests waiting for the
// customer's decision first, then open access, then history.
func (h *Handler) requestList(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	v := &requestListView{Customer: s.Customer(), Statuses: lockbox.AllStatuses}
	v.Status = lockbox.RequestStatus(r.URL.Query().Get("status"))
	if v.Status != "" && !v.Status.Valid() {
		h.fail(w, r, s, lockbox.Errorf(lockbox.CodeInvalid, "there is no status %q", v.Status), "/requests")
		return
	}
	pending := lockbox.StatusPendingCustomer
	if !s.Customer() {
		pending = lockbox.StatusPendingInternal
	}
	list := func(st lockbox.RequestStatus, page lockbox.Page) ([]*lockbox.AccessRequest, string, error) {
		l, err := h.svc.ListRequests(ctx, s.P, lockbox.RequestFilter{Status: st, Page: page})
		return l.Items, l.NextPageToken, err
	}
	var err error
	if v.Pending, _, err = list(pending, lockbox.Page{Size: listSize}); err != nil {
		h.fail(w, r, s, err, "/")
		return
	}
	// Soonest deadline first: what must be decided first.
	slices.SortStableFunc(v.Pending, func(a, b *lockbox.AccessRequest) int { return a.DecisionDeadline.Compare(b.DecisionDeadline) })
	if v.Active, _, err = list(lockbox.StatusApproved, lockbox.Page{Size: listSize}); err != nil {
		h.fail(w, r, s, err, "/")
		return
	}
	token := r.URL.Query().Get("page")
	v.Paged = token != ""
	if v.History, v.Next, err = list(v.Status, lockbox.Page{Size: h.opts.PageSize, Token: token}); err != nil {
		h.fail(w, r, s, err, "/requests")
		return
	}
	h.render(w, r, s, http.StatusOK, "requests", v)
}

type requestView struct {
	R      *lockbox.AccessRequest
	Ticket *lockbox.Ticket
	Events []*lockbox.Event
	// Notifications are the e-mails and webhooks sent about the request.
	Notifications []*lockbox.Notification
	Names         map[lockbox.UserID]string
	// What the signed-in user may do here.
	CanReview   bool
	Stage       lockbox.Stage
	CanRevoke   bool
	IsRequester bool
	NeedsMFA    bool
	Durations   []string
}

func (v *requestView) title() string { return "Access request " + string(v.R.ID) }

// Name is a user's display name where the viewer may read it, else its id.
func (v *requestView) Name(id lockbox.UserID) string {
	if n, ok := v.Names[id]; ok {
		return n
	}
	return string(id)
}

// names resolves the display names the viewer may read.
func (h *Handler) names(r *http.Request, s *session, ids ...lockbox.UserID) map[lockbox.UserID]string {
	out := map[lockbox.UserID]string{}
	for _, id := range ids {
		if id == "" {
			continue
		}
		if _, ok := out[id]; ok {
			continue
		}
		if u, err := h.svc.GetUser(r.Context(), s.P, id); err == nil {
			out[id] = u.DisplayName + " (" + u.Email + ")"
		}
	}
	return out
}

func (h *Handler) requestPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	id := lockbox.RequestID(r.PathValue("id"))
	req, err := h.svc.GetRequest(ctx, s.P, id)
	if err != nil {
		h.fail(w, r, s, err, "/")
		return
	}
	v := &requestView{R: req}
	if t, err := h.svc.GetTicket(ctx, s.P, req.TicketID); err == nil {
		v.Ticket = t
	}
	if ev, err := h.svc.ListEvents(ctx, s.P, lockbox.EventFilter{TenantID: req.TenantID, After: -1, RequestID: req.ID, Limit: lockbox.MaxPageSize}); err == nil {
		v.Events = ev
	}
	if l, err := h.svc.RequestNotifications(ctx, s.P, req.ID); err == nil {
		v.Notifications = l.Items
	}
	// The service names the requester and the reviewers for everyone who
	// may read the request (customers cannot read operator users); the
	// rest (who ended it) is looked up where the viewer may read it.
	v.Names = h.names(r, s, req.EndedBy)
	if _, ok := v.Names[req.EndedBy]; !ok && req.EndedByName != "" {
		v.Names[req.EndedBy] = req.EndedByName
	}
	if req.RequesterName != "" {
		v.Names[req.RequesterID] = req.RequesterName + " (" + req.RequesterEmail + ")"
	}
	for _, rv := range req.Reviews {
		if rv.ReviewerName != "" {
			v.Names[rv.ReviewerID] = rv.ReviewerName
		}
	}
	u := s.U()
	v.IsRequester = req.RequesterID == u.ID
	reviewed := slices.ContainsFunc(req.Reviews, func(rv lockbox.Review) bool { return rv.ReviewerID == u.ID })
	switch {
	case v.IsRequester || reviewed:
	case req.Status == lockbox.StatusPendingCustomer && u.IsApproverOf(req.TenantID):
		v.CanReview, v.Stage = true, lockbox.StageCustomer
	case req.Status == lockbox.StatusPendingInternal && s.Operator() &&
		slices.ContainsFunc(req.Policy.InternalApprovals, func(g lockbox.GroupApprovals) bool { return u.InGroup(g.Group) }):
		v.CanReview, v.Stage = true, lockbox.StageInternal
	}
	v.NeedsMFA = v.CanReview && v.Stage == lockbox.StageCustomer && !s.MFA()
	v.CanRevoke = req.Status == lockbox.StatusApproved && (u.IsApproverOf(req.TenantID) || u.IsOperatorAdmin())
	v.Durations = shorterDurations(req)
	h.render(w, r, s, http.StatusOK, "request", v)
}

// shorterDurations offers windows shorter than the one the request would
// get, for an approver who wants to shorten it.
func shorterDurations(r *lockbox.AccessRequest) []string {
	max := r.RequestedDuration
	if r.Policy.MaxDuration > 0 && r.Policy.MaxDuration < max {
		max = r.Policy.MaxDuration
	}
	var out []string
	for _, d := range []string{"15m", "30m", "1h", "2h", "4h", "8h", "24h"} {
		if v, _ := lockbox.ParseDuration(d); v < max {
			out = append(out, d)
		}
	}
	return out
}

func requestURL(id lockbox.RequestID) string { return "/requests/" + string(id) }

func (h *Handler) review(w http.ResponseWriter, r *http.Request, s *session, decision lockbox.ReviewDecision) {
	id := lockbox.RequestID(r.PathValue("id"))
	in := lockbox.ReviewInput{Decision: decision, Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	if d := strings.TrimSpace(r.PostFormValue("duration")); d != "" && decision == lockbox.DecisionApprove {
		v, err := lockbox.ParseDuration(d)
		if err != nil {
			h.fail(w, r, s, lockbox.Errorf(lockbox.CodeInvalid, "%s", err.Error()), requestURL(id))
			return
		}
		in.Duration = v
	}
	if decision == lockbox.DecisionDeny && in.Reason == "" {
		h.fail(w, r, s, lockbox.Errorf(lockbox.CodeInvalid, "a denial needs a reason: say why, so the engineer knows what to do instead"), requestURL(id))
		return
	}
	req, err := h.svc.Review(r.Context(), s.P, id, in)
	if err != nil {
		h.fail(w, r, s, err, requestURL(id))
		return
	}
	msg := "You denied request " + string(id) + "."
	if decision == lockbox.DecisionApprove {
		msg = "You approved request " + string(id) + ". It is now: " + statusLabel(req.Status) + "."
	}
	h.done(w, r, requestURL(id), msg)
}

func (h *Handler) approve(w http.ResponseWriter, r *http.Request, s *session) {
	h.review(w, r, s, lockbox.DecisionApprove)
}

func (h *Handler) deny(w http.ResponseWriter, r *http.Request, s *session) {
	h.review(w, r, s, lockbox.DecisionDeny)
}

func (h *Handler) revoke(w http.ResponseWriter, r *http.Request, s *session) {
	id := lockbox.RequestID(r.PathValue("id"))
	if _, err := h.svc.Revoke(r.Context(), s.P, id, strings.TrimSpace(r.PostFormValue("reason"))); err != nil {
		h.fail(w, r, s, err, requestURL(id))
		return
	}
	h.done(w, r, requestURL(id), "Access under request "+string(id)+" is revoked: its tokens are refused from now on.")
}

func (h *Handler) cancel(w http.ResponseWriter, r *http.Request, s *session) {
	id := lockbox.RequestID(r.PathValue("id"))
	if _, err := h.svc.Cancel(r.Context(), s.P, id); err != nil {
		h.fail(w, r, s, err, requestURL(id))
		return
	}
	h.done(w, r, requestURL(id), "You withdrew request "+string(id)+".")
}

func (h *Handler) complete(w http.ResponseWriter, r *http.Request, s *session) {
	id := lockbox.RequestID(r.PathValue("id"))
	if _, err := h.svc.Complete(r.Context(), s.P, id); err != nil {
		h.fail(w, r, s, err, requestURL(id))
		return
	}
	h.done(w, r, requestURL(id), "You released the access of request "+string(id)+".")
}

type tokenView struct {
	R       *lockbox.AccessRequest
	Token   *lockbox.GrantToken
	Gateway string
	Issuer  string
}

func (tokenView) title() string { return "Grant token" }

// issueToken shows a new grant token once. It is the one action answered
// with a page rather than a redirect: the token must not be stored to
// survive one.
func (h *Handler) issueToken(w http.ResponseWriter, r *http.Request, s *session) {
	id := lockbox.RequestID(r.PathValue("id"))
	req, err := h.svc.GetRequest(r.Context(), s.P, id)
	if err != nil {
		h.fail(w, r, s, err, "/access")
		return
	}
	tok, err := h.svc.IssueToken(r.Context(), s.P, id)
	if err != nil {
		h.fail(w, r, s, err, requestURL(id))
		return
	}
	gw := h.opts.GatewayURL
	if gw == "" {
		gw = "https://GATEWAY"
	}
	h.render(w, r, s, http.StatusOK, "token", &tokenView{R: req, Token: tok, Gateway: strings.TrimRight(gw, "/"), Issuer: h.opts.PublicURL})
}

type requestFormView struct {
	Ticket    *lockbox.Ticket
	Levels    []lockbox.AccessLevel
	Reasons   []lockbox.ReasonType
	Resources string
	Level     lockbox.AccessLevel
	Reason    lockbox.ReasonType
	Justify   string
	Duration  string
	Error     *lockbox.Error
}

func (requestFormView) title() string { return "Request access" }

func (h *Handler) requestForm(w http.ResponseWriter, r *http.Request, s *session) {
	t, err := h.svc.GetTicket(r.Context(), s.P, lockbox.TicketID(r.PathValue("id")))
	if err != nil {
		h.fail(w, r, s, err, "/tickets")
		return
	}
	h.render(w, r, s, http.StatusOK, "request_form", &requestFormView{Ticket: t, Levels: lockbox.AccessLevels,
		Reasons: lockbox.ReasonTypes, Level: lockbox.LevelRead, Reason: lockbox.ReasonCustomerInitiated, Duration: "1h"})
}

func (h *Handler) createRequest(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	tid := lockbox.TicketID(r.PostFormValue("ticket_id"))
	v := &requestFormView{Levels: lockbox.AccessLevels, Reasons: lockbox.ReasonTypes,
		Resources: r.PostFormValue("resources"), Level: lockbox.AccessLevel(r.PostFormValue("access_level")),
		Reason: lockbox.ReasonType(r.PostFormValue("reason_type")), Justify: r.PostFormValue("justification"),
		Duration: r.PostFormValue("duration")}
	t, err := h.svc.GetTicket(ctx, s.P, tid)
	if err != nil {
		h.fail(w, r, s, err, "/tickets")
		return
	}
	v.Ticket = t
	in := lockbox.CreateRequestInput{TicketID: tid, AccessLevel: v.Level, ReasonType: v.Reason, Justification: v.Justify}
	for _, line := range strings.FieldsFunc(v.Resources, func(r rune) bool { return r == '\n' || r == ',' }) {
		if line = strings.TrimSpace(line); line != "" {
			in.Resources = append(in.Resources, line)
		}
	}
	d, err := lockbox.ParseDuration(v.Duration)
	if err == nil {
		in.Duration = d
		var req *lockbox.AccessRequest
		if req, err = h.svc.CreateRequest(ctx, s.P, in); err == nil {
			h.done(w, r, requestURL(req.ID), "Request "+string(req.ID)+" filed: "+statusLabel(req.Status)+".")
			return
		}
	} else {
		err = lockbox.Errorf(lockbox.CodeInvalid, "%s", err.Error())
	}
	code := lockbox.ErrorCodeOf(err)
	if code != lockbox.CodeInvalid && code != lockbox.CodeBadRequest && code != lockbox.CodeForbidden {
		h.fail(w, r, s, err, "/tickets/"+string(tid))
		return
	}
	le := &lockbox.Error{Code: code, Message: err.Error()}
	if e, ok := err.(*lockbox.Error); ok {
		le = e
	}
	v.Error = le
	h.render(w, r, s, code.HTTPStatus(), "request_form", v)
}

type approvalsView struct {
	Requests []*lockbox.AccessRequest
	Groups   []string
}

func (approvalsView) title() string { return "Internal approvals" }

// approvals lists the requests waiting for an internal approval from a
// group the operator is in, never the operator's own.
func (h *Handler) approvals(w http.ResponseWriter, r *http.Request, s *session) {
	if !s.Operator() {
		h.fail(w, r, s, lockbox.Errorf(lockbox.CodeForbidden, "internal approvals are for operator staff"), "/")
		return
	}
	l, err := h.svc.ListRequests(r.Context(), s.P, lockbox.RequestFilter{Status: lockbox.StatusPendingInternal, Page: lockbox.Page{Size: listSize}})
	if err != nil {
		h.fail(w, r, s, err, "/")
		return
	}
	u := s.U()
	v := &approvalsView{Groups: u.Groups}
	for _, req := range l.Items {
		if req.RequesterID == u.ID {
			continue
		}
		if slices.ContainsFunc(req.Policy.InternalApprovals, func(g lockbox.GroupApprovals) bool { return u.InGroup(g.Group) }) {
			v.Requests = append(v.Requests, req)
		}
	}
	h.render(w, r, s, http.StatusOK, "approvals", v)
}

type accessView struct {
	Requests []*lockbox.AccessRequest
}

func (accessView) title() string { return "My access" }

// myAccess lists the operator's own requests, open access first.
func (h *Handler) myAccess(w http.ResponseWriter, r *http.Request, s *session) {
	if !s.Operator() {
		h.fail(w, r, s, lockbox.Errorf(lockbox.CodeForbidden, "this page is for operator engineers"), "/")
		return
	}
	l, err := h.svc.ListRequests(r.Context(), s.P, lockbox.RequestFilter{RequesterID: s.U().ID, Page: lockbox.Page{Size: listSize}})
	if err != nil {
		h.fail(w, r, s, err, "/")
		return
	}
	items := l.Items
	slices.SortStableFunc(items, func(a, b *lockbox.AccessRequest) int {
		return rank(a.Status) - rank(b.Status)
	})
	h.render(w, r, s, http.StatusOK, "access", &accessView{Requests: items})
}

func rank(s lockbox.RequestStatus) int {
	switch {
	case s == lockbox.StatusApproved:
		return 0
	case s.Pending():
		return 1
	}
	return 2
}
