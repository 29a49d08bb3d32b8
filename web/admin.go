package web

import (
	"net/http"
	"strings"

	"github.com/lockbox-dev/lockbox"
)

type tenantListView struct {
	Tenants []*lockbox.Tenant
}

func (tenantListView) title() string { return "Tenants" }

func (h *Handler) tenantList(w http.ResponseWriter, r *http.Request, s *session) {
	if !s.Operator() {
		h.fail(w, r, s, lockbox.Errorf(lockbox.CodeForbidden, "the tenant list is for operator staff"), "/")
		return
	}
	l, err := h.svc.ListTenants(r.Context(), s.P, lockbox.Page{Size: lockbox.MaxPageSize})
	if err != nil {
		h.fail(w, r, s, err, "/")
		return
	}
	h.render(w, r, s, http.StatusOK, "tenants", &tenantListView{Tenants: l.Items})
}

func (h *Handler) createTenant(w http.ResponseWriter, r *http.Request, s *session) {
	t, err := h.svc.CreateTenant(r.Context(), s.P, lockbox.CreateTenantInput{Name: strings.TrimSpace(r.PostFormValue("name"))})
	if err != nil {
		h.fail(w, r, s, err, "/tenants")
		return
	}
	h.done(w, r, "/tenants/"+string(t.ID), "Tenant "+t.Name+" created. Invite its first admin below.")
}

type tenantView struct {
	T     *lockbox.Tenant
	Users []*lockbox.User
}

func (v *tenantView) title() string { return "Tenant " + v.T.Name }

func (h *Handler) tenantPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	if !s.Operator() {
		h.fail(w, r, s, lockbox.Errorf(lockbox.CodeNotFound, "tenant %s not found", r.PathValue("id")), "/")
		return
	}
	t, err := h.svc.GetTenant(ctx, s.P, lockbox.TenantID(r.PathValue("id")))
	if err != nil {
		h.fail(w, r, s, err, "/tenants")
		return
	}
	v := &tenantView{T: t}
	if s.OperatorAdmin() {
		l, err := h.svc.ListUsers(ctx, s.P, lockbox.UserFilter{TenantID: t.ID, Kind: lockbox.KindCustomer, Page: lockbox.Page{Size: lockbox.MaxPageSize}})
		if err != nil {
			h.fail(w, r, s, err, "/tenants")
			return
		}
		v.Users = l.Items
	}
	h.render(w, r, s, http.StatusOK, "tenant", v)
}

type userListView struct {
	Users []*lockbox.User
	Kind  lockbox.UserKind
	Roles []lockbox.Role
}

func (userListView) title() string { return "Users" }

// userList shows operator admins the operator's staff, and a tenant's
// admins and approvers the tenant's users.
func (h *Handler) userList(w http.ResponseWriter, r *http.Request, s *session) {
	f := lockbox.UserFilter{Kind: lockbox.KindOperator, Page: lockbox.Page{Size: lockbox.MaxPageSize}}
	if s.Customer() {
		f = lockbox.UserFilter{Kind: lockbox.KindCustomer, TenantID: s.U().TenantID, Page: f.Page}
	}
	l, err := h.svc.ListUsers(r.Context(), s.P, f)
	if err != nil {
		h.fail(w, r, s, err, "/")
		return
	}
	h.render(w, r, s, http.StatusOK, "users", &userListView{Users: l.Items, Kind: f.Kind, Roles: lockbox.RolesOf(f.Kind)})
}

// createUser adds a user: operator admins add operator staff and a
// tenant's first admin; tenant admins add their tenant's users. The
// service enforces who may do which (invariant 10).
func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, s *session) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, s, lockbox.Errorf(lockbox.CodeBadRequest, "the form could not be read"), "/users")
		return
	}
	in := lockbox.CreateUserInput{
		Email: strings.TrimSpace(r.PostFormValue("email")), DisplayName: strings.TrimSpace(r.PostFormValue("display_name")),
		Kind:   lockbox.KindOperator,
		Groups: splitLines(r.PostFormValue("groups")), Isolated: r.PostFormValue("isolated") == "on",
	}
	for _, role := range r.PostForm["roles"] {
		in.Roles = append(in.Roles, lockbox.Role(role))
	}
	back := "/users"
	if s.Customer() {
		in.Kind, in.TenantID = lockbox.KindCustomer, s.U().TenantID
	} else if t := r.PostFormValue("tenant_id"); t != "" {
		in.Kind, in.TenantID = lockbox.KindCustomer, lockbox.TenantID(t)
		back = "/tenants/" + t
	}
	if in.Kind == lockbox.KindCustomer {
		in.Groups = nil
	}
	u, err := h.svc.CreateUser(r.Context(), s.P, in)
	if err != nil {
		h.fail(w, r, s, err, back)
		return
	}
	msg := "User " + u.Email + " created and invited: they receive a single-use link to choose their own password (and set up one-time codes)."
	if u.IsServiceAccount() {
		msg = "Service account " + u.Email + " created: it never signs in; create an API token for it below."
	}
	h.done(w, r, back, msg)
}

// reinviteUser sends a user a new invitation (a lost password, or an
// invitation that expired): their password, one-time codes, sessions and
// tokens end, and they choose new ones through the link.
func (h *Handler) reinviteUser(w http.ResponseWriter, r *http.Request, s *session) {
	id := lockbox.UserID(r.PathValue("id"))
	u, err := h.svc.Reinvite(r.Context(), s.P, id)
	if err != nil {
		h.fail(w, r, s, err, userURL(id))
		return
	}
	h.done(w, r, userURL(id), "Sent "+u.Email+" a new invitation; the earlier link, password and sessions no longer work.")
}

type userView struct {
	U       *lockbox.User
	Roles   []lockbox.Role
	CanEdit bool
	// CanReinvite: the form to send a new invitation (the service decides;
	// an operator admin may for a tenant's admin while it has no active one).
	CanReinvite bool
	Confirm     bool // removal asked, to be confirmed
}

func (v *userView) title() string { return "User " + v.U.Email }

// Has reports whether the user holds the role, for the form's checkboxes.
func (v *userView) Has(r lockbox.Role) bool { return v.U.HasRole(r) }

// mayEdit mirrors the service's rule for the form: operator admins manage
// operator staff, a tenant's admins its users. The service decides.
func mayEdit(s *session, u *lockbox.User) bool {
	if u.Kind == lockbox.KindOperator {
		return s.OperatorAdmin()
	}
	return s.U().IsTenantAdminOf(u.TenantID)
}

func userURL(id lockbox.UserID) string { return "/users/" + string(id) }

func (h *Handler) userPage(w http.ResponseWriter, r *http.Request, s *session) {
	u, err := h.svc.GetUser(r.Context(), s.P, lockbox.UserID(r.PathValue("id")))
	if err != nil {
		h.fail(w, r, s, err, "/users")
		return
	}
	h.render(w, r, s, http.StatusOK, "user", &userView{U: u, Roles: lockbox.RolesOf(u.Kind), CanEdit: mayEdit(s, u),
		CanReinvite: !u.IsServiceAccount() && u.ID != s.U().ID && (mayEdit(s, u) || (s.OperatorAdmin() && u.HasRole(lockbox.RoleTenantAdmin)))})
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request, s *session) {
	id := lockbox.UserID(r.PathValue("id"))
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, s, lockbox.Errorf(lockbox.CodeBadRequest, "the form could not be read"), userURL(id))
		return
	}
	u, err := h.svc.GetUser(r.Context(), s.P, id)
	if err != nil {
		h.fail(w, r, s, err, "/users")
		return
	}
	name := strings.TrimSpace(r.PostFormValue("display_name"))
	roles := []lockbox.Role{}
	for _, role := range r.PostForm["roles"] {
		roles = append(roles, lockbox.Role(role))
	}
	in := lockbox.UpdateUserInput{DisplayName: &name, Roles: &roles}
	if u.Kind == lockbox.KindOperator {
		groups, isolated := splitLines(r.PostFormValue("groups")), r.PostFormValue("isolated") == "on"
		in.Groups, in.Isolated = &groups, &isolated
	}
	if _, err := h.svc.UpdateUser(r.Context(), s.P, id, in); err != nil {
		h.fail(w, r, s, err, userURL(id))
		return
	}
	h.done(w, r, userURL(id), "Saved "+u.Email+". The change is in the log.")
}

func (h *Handler) removeUser(w http.ResponseWriter, r *http.Request, s *session) {
	id := lockbox.UserID(r.PathValue("id"))
	u, err := h.svc.GetUser(r.Context(), s.P, id)
	if err != nil {
		h.fail(w, r, s, err, "/users")
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		h.render(w, r, s, http.StatusOK, "user", &userView{U: u, Roles: lockbox.RolesOf(u.Kind), CanEdit: mayEdit(s, u), Confirm: true})
		return
	}
	if err := h.svc.DeleteUser(r.Context(), s.P, id); err != nil {
		h.fail(w, r, s, err, userURL(id))
		return
	}
	h.done(w, r, "/users", "Removed "+u.Email+": their sessions and tokens no longer work, and any access they held has ended.")
}
