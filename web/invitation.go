package web

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/lockbox-dev/lockbox"
)

// invitationView is the page of an invitation link: who is invited, the
// second factor to enrol, and the form that sets the invitee's own
// password. It works without JavaScript; its forms are protected against
// cross-site posts like every other form of the portal.
type invitationView struct {
	Token string
	Info  *lockbox.InvitationInfo
	// Error is why the link or the form was refused.
	Error string
	// Secret, URL and QR: the TOTP secret just enrolled with the
	// invitation, shown only in the answer to the POST that created it.
	Secret string
	URL    string
	QR     template.HTML
}

func (invitationView) title() string { return "Your invitation" }

// invitationHeaders keep the token in the path out of Referer headers and
// caches.
func invitationHeaders(w http.ResponseWriter) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
}

// invitationFail shows why an invitation step was refused, on the
// invitation page itself. Internal errors are logged without the path,
// which holds the token.
func (h *Handler) invitationFail(w http.ResponseWriter, r *http.Request, v *invitationView, err error) {
	status := lockbox.ErrorCodeOf(err).HTTPStatus()
	if status >= 500 {
		h.log.Error("web: invitation step failed", "err", err)
		v.Error = "The server could not do this. Try again in a moment."
	} else {
		v.Error = sentence(err.Error())
	}
	h.render(w, r, nil, status, "invitation", v)
}

func (h *Handler) invitationPage(w http.ResponseWriter, r *http.Request) {
	invitationHeaders(w)
	v := &invitationView{Token: r.PathValue("token")}
	info, err := h.svc.GetInvitation(r.Context(), v.Token)
	if err != nil {
		v.Token = ""
		h.invitationFail(w, r, v, err)
		return
	}
	v.Info = info
	h.render(w, r, nil, http.StatusOK, "invitation", v)
}

// invitationTOTP enrols a second factor with the invitation and shows its
// secret, once, with the form that accepts the invitation.
func (h *Handler) invitationTOTP(w http.ResponseWriter, r *http.Request) {
	invitationHeaders(w)
	v := &invitationView{Token: r.PathValue("token")}
	enrol, err := h.svc.InvitationTOTP(r.Context(), v.Token)
	if err != nil {
		v.Token = ""
		h.invitationFail(w, r, v, err)
		return
	}
	if v.Info, err = h.svc.GetInvitation(r.Context(), v.Token); err != nil {
		h.invitationFail(w, r, v, err)
		return
	}
	v.Secret, v.URL = enrol.Secret, enrol.OTPAuthURL
	if v.QR, err = qrSVG(enrol.OTPAuthURL); err != nil {
		h.invitationFail(w, r, v, err)
		return
	}
	h.render(w, r, nil, http.StatusOK, "invitation", v)
}

// invitationAccept sets the invitee's password (and second factor) and
// sends them to sign in.
func (h *Handler) invitationAccept(w http.ResponseWriter, r *http.Request) {
	invitationHeaders(w)
	v := &invitationView{Token: r.PathValue("token")}
	info, err := h.svc.GetInvitation(r.Context(), v.Token)
	if err != nil {
		v.Token = ""
		h.invitationFail(w, r, v, err)
		return
	}
	v.Info = info
	// The service counts the one-time code against the same throttle as
	// every other code check.
	password := r.PostFormValue("password")
	if password != r.PostFormValue("confirm_password") {
		h.invitationFail(w, r, v, lockbox.Errorf(lockbox.CodeInvalid, "the password and its confirmation differ: type them again"))
		return
	}
	u, err := h.svc.AcceptInvitation(r.Context(), v.Token, lockbox.AcceptInvitationInput{
		Password: password, OTP: strings.TrimSpace(r.PostFormValue("otp"))})
	if err != nil {
		h.invitationFail(w, r, v, err)
		return
	}
	msg := "Welcome, " + u.DisplayName + ": your password is set. Sign in"
	if u.TOTPEnabled {
		msg += " with your password and a code from your authenticator app."
	} else {
		msg += " with your password."
	}
	h.done(w, r, "/signin", msg)
}
