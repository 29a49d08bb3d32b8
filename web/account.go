package web

import (
	"net/http"
	"strings"

	"github.com/lockbox-dev/lockbox"
)

type accountView struct {
	Error string
}

func (accountView) title() string { return "Your account" }

// account shows the signed-in user's own settings: password and API
// tokens (one-time codes have their own page).
func (h *Handler) account(w http.ResponseWriter, r *http.Request, s *session) {
	h.render(w, r, s, http.StatusOK, "account", &accountView{})
}

// changePassword checks the current password, sets the new one and signs
// the user out everywhere (the service ends every session and token of a
// user whose password changes).
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	current, next := r.PostFormValue("current_password"), r.PostFormValue("new_password")
	again := func(status int, msg string) {
		h.render(w, r, s, status, "account", &accountView{Error: msg})
	}
	if next != r.PostFormValue("confirm_password") {
		again(http.StatusUnprocessableEntity, "The new password and its confirmation differ: type them again.")
		return
	}
	if err := lockbox.ValidatePassword(next); err != nil {
		again(http.StatusUnprocessableEntity, sentence(err.Error()))
		return
	}
	// The service checks the current password, on this session only.
	if _, err := h.svc.UpdateUser(ctx, s.P, s.U().ID, lockbox.UpdateUserInput{Password: &next, CurrentPassword: &current}); err != nil {
		switch lockbox.ErrorCodeOf(err) {
		case lockbox.CodeForbidden:
			again(http.StatusForbidden, sentence(err.Error())+" Type it again.")
			return
		case lockbox.CodeRateLimited:
			// The service's throttle counts the check like any sign-in.
			again(http.StatusTooManyRequests, "Too many attempts: "+sentence(err.Error()))
			return
		}
		h.fail(w, r, s, err, "/account")
		return
	}
	clearCookie(w, r, sessionCookie)
	h.done(w, r, "/signin", "Password changed, and every session and API token of yours ended: sign in again with the new password. We e-mailed you about the change.")
}

type apiTokenView struct {
	User  *lockbox.User
	Token *lockbox.TokenOutput
	Back  string
}

func (apiTokenView) title() string { return "API token" }

// createAPIToken makes a long-lived API token for a user (oneself, or a
// gateway service account for an operator admin) and shows it once.
func (h *Handler) createAPIToken(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	id := lockbox.UserID(r.PathValue("id"))
	back := userURL(id)
	if id == s.U().ID {
		back = "/account"
	}
	in := lockbox.CreateTokenInput{Name: strings.TrimSpace(r.PostFormValue("name"))}
	if e := strings.TrimSpace(r.PostFormValue("expires_in")); e != "" {
		d, err := parseDurationField("expires in", e)
		if err != nil {
			h.fail(w, r, s, err, back)
			return
		}
		in.ExpiresIn = &d
	}
	u, err := h.svc.GetUser(ctx, s.P, id)
	if err != nil {
		h.fail(w, r, s, err, back)
		return
	}
	tok, err := h.svc.CreateAPIToken(ctx, s.P, id, in)
	if err != nil {
		h.fail(w, r, s, err, back)
		return
	}
	h.render(w, r, s, http.StatusOK, "api_token", &apiTokenView{User: u, Token: tok, Back: back})
}
