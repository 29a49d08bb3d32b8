package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/boombuler/barcode/qr"

	"github.com/lockbox-dev/lockbox"
)

type signinView struct {
	Email string
	Next  string
	Error string
}

func (signinView) title() string { return "Sign in" }

func (h *Handler) signinForm(w http.ResponseWriter, r *http.Request) {
	if s := h.current(r); s != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	h.render(w, r, nil, http.StatusOK, "signin", &signinView{Next: safeNext(r.URL.Query().Get("next"))})
}

func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	v := &signinView{Email: email, Next: safeNext(r.PostFormValue("next"))}
	out, err := h.svc.Login(r.Context(), lockbox.LoginInput{
		Email: email, Password: r.PostFormValue("password"), OTP: strings.TrimSpace(r.PostFormValue("otp")),
	})
	if err != nil {
		status := lockbox.ErrorCodeOf(err).HTTPStatus()
		if status >= 500 {
			h.log.Error("web: sign-in failed", "err", err)
			v.Error = "The server could not sign you in. Try again in a moment."
		} else {
			v.Error = sentence(err.Error())
			if lockbox.ErrorCodeOf(err) == lockbox.CodeRateLimited {
				v.Error = "Too many sign-in attempts: " + v.Error
			}
			if lockbox.ErrorCodeOf(err) == lockbox.CodeUnauthenticated {
				v.Error += " Check your e-mail, password and one-time code, then try again."
			}
		}
		h.render(w, r, nil, status, "signin", v)
		return
	}
	setSessionCookie(w, r, out.Token, out.ExpiresAt)
	if !out.User.TOTPEnabled {
		h.done(w, r, "/totp", "Signed in. Set up a one-time code app now: approving access and changing settings need it.")
		return
	}
	h.done(w, r, v.Next, "Signed in as "+out.User.DisplayName+".")
}

// signout ends the session in the service (Service.Logout deletes it, so
// the token is refused by the API and by every replica from then on) and
// clears the cookie. The cookie goes even when the service cannot end the
// session; the message then says so.
func (h *Handler) signout(w http.ResponseWriter, r *http.Request) {
	s := h.current(r)
	clearCookie(w, r, sessionCookie)
	if s != nil {
		if err := h.svc.Logout(r.Context(), s.P); err != nil && lockbox.ErrorCodeOf(err) != lockbox.CodeUnauthenticated {
			h.log.Error("web: ending a session", "user", s.U().ID, "err", err)
			setFlash(w, r, "error", "Signed out of this browser, but the server could not end the session: "+
				"it stays valid until it expires. Sign in and sign out again to end it.")
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
	}
	h.done(w, r, "/signin", "Signed out.")
}

type totpView struct {
	Enabled bool
	Pending bool
	Secret  string
	QR      template.HTML
	MFA     bool
}

func (totpView) title() string { return "One-time codes" }

// totpPage shows the enrolment this session started, if any: the service
// never hands out another session's pending secret, nor an expired one.
func (h *Handler) totpPage(w http.ResponseWriter, r *http.Request, s *session) {
	u := s.U()
	v := &totpView{Enabled: u.TOTPEnabled, MFA: s.MFA()}
	pending, err := h.svc.PendingTOTP(r.Context(), s.P)
	if err != nil {
		h.fail(w, r, s, err, "/")
		return
	}
	if pending != nil {
		v.Pending, v.Secret = true, pending.Secret
		svg, err := qrSVG(pending.OTPAuthURL)
		if err != nil {
			h.fail(w, r, s, err, "/")
			return
		}
		v.QR = svg
	}
	h.render(w, r, s, http.StatusOK, "totp", v)
}

func (h *Handler) totpStart(w http.ResponseWriter, r *http.Request, s *session) {
	in := lockbox.TOTPEnrollInput{Code: strings.TrimSpace(r.PostFormValue("current_code"))}
	if _, err := h.svc.EnrollTOTP(r.Context(), s.P, in); err != nil {
		h.fail(w, r, s, err, "/totp")
		return
	}
	h.done(w, r, "/totp", "Scan the code with your authenticator app, then enter the code it shows.")
}

func (h *Handler) totpVerify(w http.ResponseWriter, r *http.Request, s *session) {
	if _, err := h.svc.VerifyTOTP(r.Context(), s.P, r.PostFormValue("code")); err != nil {
		h.fail(w, r, s, err, "/totp")
		return
	}
	h.done(w, r, "/totp", "One-time codes are on. Sign out and sign in again with a code to approve access and change settings.")
}

// qrSVG draws text as a QR code in SVG, one path of dark modules, with the
// quiet zone the standard asks for. It is inline markup, so the strict
// content security policy needs no exception for it.
func qrSVG(text string) (template.HTML, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("drawing the QR code: %w", err)
	}
	n := code.Bounds().Dx()
	const quiet = 4
	size := n + 2*quiet
	var path strings.Builder
	for y := range n {
		for x := range n {
			if r, _, _, _ := code.At(x, y).RGBA(); r == 0 {
				fmt.Fprintf(&path, "M%d %dh1v1h-1z", x+quiet, y+quiet)
			}
		}
	}
	// Only numbers go into the markup.
	return template.HTML(fmt.Sprintf(
		`<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="QR code of your one-time code secret" shape-rendering="crispEdges"><rect width="%d" height="%d" fill="#fff"/><path d="%s" fill="#000"/></svg>`,
		size, size, size, size, path.String())), nil
}
