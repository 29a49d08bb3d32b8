package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/lockbox-dev/lockbox"
)

type ticketListView struct {
	Tickets []*lockbox.Ticket
	Status  lockbox.TicketStatus
	Tenants []*lockbox.Tenant // operators: where a ticket may be opened
	CanOpen bool
	Next    string // the token of the next (older) page
	Paged   bool
}

func (ticketListView) title() string { return "Tickets" }

// TenantName names a tenant for the operator's queue.
func (v *ticketListView) TenantName(id lockbox.TenantID) string {
	for _, t := range v.Tenants {
		if t.ID == id {
			return t.Name
		}
	}
	return string(id)
}

func (h *Handler) ticketList(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	v := &ticketListView{Status: lockbox.TicketStatus(r.URL.Query().Get("status")), CanOpen: true}
	token := r.URL.Query().Get("page")
	l, err := h.svc.ListTickets(ctx, s.P, lockbox.TicketFilter{Status: v.Status, Page: lockbox.Page{Size: h.opts.PageSize, Token: token}})
	if err != nil {
		h.fail(w, r, s, err, "/")
		return
	}
	v.Tickets, v.Next, v.Paged = l.Items, l.NextPageToken, token != ""
	if s.Operator() {
		tl, err := h.svc.ListTenants(ctx, s.P, lockbox.Page{Size: lockbox.MaxPageSize})
		if err != nil {
			h.fail(w, r, s, err, "/")
			return
		}
		v.Tenants = tl.Items
	}
	h.render(w, r, s, http.StatusOK, "tickets", v)
}

func (h *Handler) createTicket(w http.ResponseWriter, r *http.Request, s *session) {
	in := lockbox.CreateTicketInput{
		TenantID: lockbox.TenantID(r.PostFormValue("tenant_id")), Title: strings.TrimSpace(r.PostFormValue("title")),
		Description: r.PostFormValue("description"),
	}
	if s.Customer() {
		in.TenantID = s.U().TenantID
	}
	sev, err := strconv.Atoi(r.PostFormValue("severity"))
	if err != nil {
		h.fail(w, r, s, lockbox.Errorf(lockbox.CodeInvalid, "choose a severity from 1 (critical) to 4 (low)"), "/tickets")
		return
	}
	in.Severity = sev
	t, err := h.svc.CreateTicket(r.Context(), s.P, in)
	if err != nil {
		h.fail(w, r, s, err, "/tickets")
		return
	}
	h.done(w, r, ticketURL(t.ID), "Ticket "+string(t.ID)+" opened.")
}

func ticketURL(id lockbox.TicketID) string { return "/tickets/" + string(id) }

type ticketView struct {
	T        *lockbox.Ticket
	Requests []*lockbox.AccessRequest
	Names    map[lockbox.UserID]string
}

func (v *ticketView) title() string { return "Ticket: " + v.T.Title }

// Name is a user's display name where the viewer may read it, else its id.
func (v *ticketView) Name(id lockbox.UserID) string {
	if n, ok := v.Names[id]; ok {
		return n
	}
	return string(id)
}

func (h *Handler) ticketPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	t, err := h.svc.GetTicket(ctx, s.P, lockbox.TicketID(r.PathValue("id")))
	if err != nil {
		h.fail(w, r, s, err, "/tickets")
		return
	}
	v := &ticketView{T: t}
	if s.Operator() || s.Approver() {
		if l, err := h.svc.ListRequests(ctx, s.P, lockbox.RequestFilter{TicketID: t.ID, Page: lockbox.Page{Size: listSize}}); err == nil {
			v.Requests = l.Items
		}
	}
	ids := []lockbox.UserID{t.CreatedBy}
	for _, c := range t.Comments {
		ids = append(ids, c.AuthorID)
	}
	v.Names = h.names(r, s, ids...)
	h.render(w, r, s, http.StatusOK, "ticket", v)
}

func (h *Handler) comment(w http.ResponseWriter, r *http.Request, s *session) {
	id := lockbox.TicketID(r.PathValue("id"))
	if _, err := h.svc.AddComment(r.Context(), s.P, id, lockbox.CommentInput{Body: r.PostFormValue("body")}); err != nil {
		h.fail(w, r, s, err, ticketURL(id))
		return
	}
	h.done(w, r, ticketURL(id), "Comment added.")
}

func (h *Handler) resolve(w http.ResponseWriter, r *http.Request, s *session) {
	id := lockbox.TicketID(r.PathValue("id"))
	if _, err := h.svc.ResolveTicket(r.Context(), s.P, id); err != nil {
		h.fail(w, r, s, err, ticketURL(id))
		return
	}
	h.done(w, r, ticketURL(id), "Ticket resolved: its open access ended with it.")
}

type settingsView struct {
	Tenant   *lockbox.Tenant
	Settings lockbox.LockboxSettings
	CanEdit  bool
	// Form values, kept when the form is shown again.
	Enabled   bool
	Approvals string
	Pending   string
	MaxAccess string
	Emails    string
	Webhooks  string
	Confirm   bool // the change switches lockbox off or on: ask first
	Error     *lockbox.Error
	// NewSecrets are the signing secrets of the webhooks just added or
	// rotated: shown on this answer only, never again.
	NewSecrets []lockbox.Webhook
}

func (settingsView) title() string { return "Lockbox settings" }

func (v *settingsView) fill(st lockbox.LockboxSettings) {
	v.Enabled = st.Enabled
	v.Approvals = strconv.Itoa(st.ApprovalsRequired)
	v.Pending = shortDuration(st.PendingTTL.D())
	v.MaxAccess = shortDuration(st.MaxAccessDuration.D())
	v.Emails = strings.Join(st.NotificationEmails, "\n")
	var hooks []string
	for _, w := range st.Webhooks {
		hooks = append(hooks, w.URL)
	}
	v.Webhooks = strings.Join(hooks, "\n")
}

func (h *Handler) settingsPage(w http.ResponseWriter, r *http.Request, s *session) {
	if !s.Customer() {
		h.fail(w, r, s, lockbox.Errorf(lockbox.CodeForbidden, "lockbox settings belong to each tenant's admins; operators see them on the tenant's page"), "/tenants")
		return
	}
	st, err := h.svc.GetLockbox(r.Context(), s.P, s.U().TenantID)
	if err != nil {
		h.fail(w, r, s, err, "/")
		return
	}
	v := &settingsView{Tenant: s.Tenant, Settings: *st, CanEdit: s.TenantAdmin()}
	v.fill(*st)
	h.render(w, r, s, http.StatusOK, "settings", v)
}

// parseDurationField reads a duration such as "8h" or "1d 2h" as shown.
func parseDurationField(field, s string) (lockbox.Duration, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	if d, rest, ok := strings.Cut(s, "d"); ok {
		days, err := strconv.Atoi(d)
		if err == nil {
			var more lockbox.Duration
			if rest != "" {
				if more, err = lockbox.ParseDuration(rest); err != nil {
					return 0, lockbox.Errorf(lockbox.CodeInvalid, "%s: %v", field, err)
				}
			}
			return lockbox.Duration(days)*lockbox.Duration(24*60*60*1e9) + more, nil
		}
	}
	d, err := lockbox.ParseDuration(s)
	if err != nil {
		return 0, lockbox.Errorf(lockbox.CodeInvalid, "%s: %v", field, err)
	}
	return d, nil
}

func splitLines(s string) []string {
	out := []string{}
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' || r == '\r' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (h *Handler) saveSettings(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	if !s.Customer() {
		h.fail(w, r, s, lockbox.Errorf(lockbox.CodeForbidden, "only the tenant's own admins change its lockbox settings; no operator role can"), "/")
		return
	}
	tid := s.U().TenantID
	cur, err := h.svc.GetLockbox(ctx, s.P, tid)
	if err != nil {
		h.fail(w, r, s, err, "/settings")
		return
	}
	v := &settingsView{Tenant: s.Tenant, Settings: *cur, CanEdit: s.TenantAdmin(),
		Enabled: r.PostFormValue("enabled") == "on", Approvals: r.PostFormValue("approvals_required"),
		Pending: r.PostFormValue("pending_ttl"), MaxAccess: r.PostFormValue("max_access_duration"),
		Emails: r.PostFormValue("notification_emails"), Webhooks: r.PostFormValue("webhooks")}
	patch, err := v.patch()
	if err == nil && v.Enabled != cur.Enabled && r.PostFormValue("confirm") != "yes" && s.TenantAdmin() {
		// Switching the lockbox is the one setting that changes who
		// decides: ask once more, with the form as sent.
		v.Confirm = true
		h.render(w, r, s, http.StatusOK, "settings", v)
		return
	}
	var saved *lockbox.LockboxSettings
	if err == nil {
		saved, err = h.svc.UpdateLockbox(ctx, s.P, tid, patch)
	}
	if err != nil {
		var le *lockbox.Error
		if code := lockbox.ErrorCodeOf(err); code == lockbox.CodeInvalid && errors.As(err, &le) {
			v.Error = le
			h.render(w, r, s, code.HTTPStatus(), "settings", v)
			return
		}
		h.fail(w, r, s, err, "/settings")
		return
	}
	var added []lockbox.Webhook
	for _, hook := range saved.Webhooks {
		if hook.Secret != "" {
			added = append(added, hook)
		}
	}
	if len(added) > 0 {
		// The new webhooks' secrets, on this answer only: no later page
		// shows them.
		h.showSecrets(w, r, s, *saved, added)
		return
	}
	h.done(w, r, "/settings", "Lockbox settings saved.")
}

// showSecrets renders the settings with the signing secrets just made,
// which no other page shows.
func (h *Handler) showSecrets(w http.ResponseWriter, r *http.Request, s *session, st lockbox.LockboxSettings, secrets []lockbox.Webhook) {
	st = st.Redacted()
	v := &settingsView{Tenant: s.Tenant, Settings: st, CanEdit: s.TenantAdmin(), NewSecrets: secrets}
	v.fill(st)
	h.render(w, r, s, http.StatusOK, "settings", v)
}

// rotateWebhook gives one of the tenant's webhooks a new signing secret
// and shows it, once.
func (h *Handler) rotateWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	if !s.Customer() {
		h.fail(w, r, s, lockbox.Errorf(lockbox.CodeForbidden, "only the tenant's own admins rotate its webhook secrets; no operator role can"), "/")
		return
	}
	tid := s.U().TenantID
	hook, err := h.svc.RotateWebhookSecret(ctx, s.P, tid, lockbox.RotateWebhookSecretInput{URL: r.PostFormValue("url")})
	if err != nil {
		h.fail(w, r, s, err, "/settings")
		return
	}
	st, err := h.svc.GetLockbox(ctx, s.P, tid)
	if err != nil {
		h.fail(w, r, s, err, "/settings")
		return
	}
	h.showSecrets(w, r, s, *st, []lockbox.Webhook{*hook})
}

// patch builds the settings change from the form.
func (v *settingsView) patch() (lockbox.LockboxPatch, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v.Approvals))
	if err != nil {
		return lockbox.LockboxPatch{}, lockbox.Errorf(lockbox.CodeInvalid, "approvals required must be a whole number from 1 to %d", lockbox.MaxApprovalsRequired)
	}
	pending, err := parseDurationField("decision deadline", v.Pending)
	if err != nil {
		return lockbox.LockboxPatch{}, err
	}
	maxAccess, err := parseDurationField("longest access", v.MaxAccess)
	if err != nil {
		return lockbox.LockboxPatch{}, err
	}
	emails := splitLines(v.Emails)
	var hooks []lockbox.Webhook
	for _, u := range splitLines(v.Webhooks) {
		hooks = append(hooks, lockbox.Webhook{URL: u})
	}
	if hooks == nil {
		hooks = []lockbox.Webhook{}
	}
	enabled := v.Enabled
	return lockbox.LockboxPatch{Enabled: &enabled, ApprovalsRequired: &n, PendingTTL: &pending,
		MaxAccessDuration: &maxAccess, NotificationEmails: &emails, Webhooks: &hooks}, nil
}

type logView struct {
	Tenant     *lockbox.Tenant
	Tenants    []*lockbox.Tenant
	Events     []*lockbox.Event
	Total      int
	Checkpoint *checkpoint
	Note       string
	CheckErr   string
	// CanVerify offers the verification; Verified or VerifyErr is its
	// outcome when it ran.
	CanVerify bool
	Verified  *LogCheck
	VerifyErr string
}

func (logView) title() string { return "Access log" }

// logShown is how many of the newest events the log page shows.
const logShown = 200

// logPage shows a tenant's log, newest first, with its current signed
// checkpoint.
func (h *Handler) logPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	v := &logView{}
	tid := lockbox.TenantID(r.URL.Query().Get("tenant"))
	if s.Customer() {
		tid, v.Tenant = s.U().TenantID, s.Tenant
	} else {
		tl, err := h.svc.ListTenants(ctx, s.P, lockbox.Page{Size: lockbox.MaxPageSize})
		if err != nil {
			h.fail(w, r, s, err, "/")
			return
		}
		v.Tenants = tl.Items
		if tid == "" && len(tl.Items) > 0 {
			tid = tl.Items[0].ID
		}
		for _, t := range tl.Items {
			if t.ID == tid {
				v.Tenant = t
			}
		}
		if v.Tenant == nil {
			h.render(w, r, s, http.StatusOK, "log", v)
			return
		}
	}
	if err := h.svc.AuthorizeLogRead(ctx, s.P, tid); err != nil {
		h.fail(w, r, s, err, "/")
		return
	}
	if h.opts.Checkpoint != nil {
		note, err := h.opts.Checkpoint(ctx, tid)
		if err != nil {
			h.log.Error("web: reading a checkpoint", "tenant", tid, "err", err)
			v.CheckErr = "The checkpoint could not be read just now; reload the page in a moment."
		} else {
			v.Note = string(note)
			if cp, err := parseCheckpoint(note); err == nil {
				v.Checkpoint = &cp
			}
		}
	}
	// Read the newest events: from just before the checkpoint's last
	// logShown entries (the few committed since follow), else from the
	// start.
	after := int64(-1)
	if v.Checkpoint != nil && v.Checkpoint.Size > logShown {
		after = int64(v.Checkpoint.Size) - logShown - 1
	}
	var all []*lockbox.Event
	for {
		page, err := h.svc.ListEvents(ctx, s.P, lockbox.EventFilter{TenantID: tid, After: after, Limit: lockbox.MaxPageSize})
		if err != nil {
			h.fail(w, r, s, err, "/")
			return
		}
		all = append(all, page...)
		if len(all) > logShown {
			all = all[len(all)-logShown:]
		}
		if len(page) < lockbox.MaxPageSize {
			break
		}
		after = page[len(page)-1].Index
	}
	if len(all) > 0 {
		v.Total = int(all[len(all)-1].Index) + 1
	}
	for i := len(all) - 1; i >= 0; i-- {
		v.Events = append(v.Events, all[i])
	}
	v.CanVerify = h.opts.VerifyLog != nil
	if v.CanVerify && r.URL.Query().Get("verify") == "1" {
		check, err := h.opts.VerifyLog(ctx, tid)
		if err != nil {
			h.log.Warn("web: a tenant log failed verification", "tenant", tid, "err", err)
			v.VerifyErr = sentence(err.Error())
		} else {
			v.Verified = &check
		}
	}
	h.render(w, r, s, http.StatusOK, "log", v)
}

// checkpoint is a checkpoint's body as shown.
type checkpoint struct {
	Origin string
	Size   uint64
	Root   string // base64
}

// parseCheckpoint reads origin, size and root from a checkpoint note's
// body, for display; verification is the job of `lockbox log verify`.
func parseCheckpoint(note []byte) (checkpoint, error) {
	lines := strings.SplitN(string(note), "\n", 4)
	if len(lines) < 3 {
		return checkpoint{}, errors.New("short checkpoint")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return checkpoint{}, err
	}
	return checkpoint{Origin: lines[0], Size: size, Root: lines[2]}, nil
}
