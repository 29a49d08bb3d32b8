package web

import (
	"io/fs"
	"net/http"
)

// routes is the portal's one route table.
func (h *Handler) routes() {
	m := h.mux
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))

	m.HandleFunc("GET /signin", h.signinForm)
	m.HandleFunc("POST /signin", h.signin)
	m.HandleFunc("POST /signout", h.signout)
	m.HandleFunc("GET /totp", h.page(h.totpPage))
	m.HandleFunc("POST /totp/start", h.page(h.totpStart))
	m.HandleFunc("POST /totp/verify", h.page(h.totpVerify))
	// An invitation link: the token in the path is the only credential.
	m.HandleFunc("GET /invitations/{token}", h.invitationPage)
	m.HandleFunc("POST /invitations/{token}/totp", h.invitationTOTP)
	m.HandleFunc("POST /invitations/{token}/accept", h.invitationAccept)

	m.HandleFunc("GET /{$}", h.page(h.home))

	// Access requests: the customer's lockbox and the operator's view.
	m.HandleFunc("GET /requests", h.page(h.requestList))
	m.HandleFunc("GET /requests/{id}", h.page(h.requestPage))
	m.HandleFunc("POST /requests/{id}/approve", h.page(h.approve))
	m.HandleFunc("POST /requests/{id}/deny", h.page(h.deny))
	m.HandleFunc("POST /requests/{id}/revoke", h.page(h.revoke))
	m.HandleFunc("POST /requests/{id}/cancel", h.page(h.cancel))
	m.HandleFunc("POST /requests/{id}/complete", h.page(h.complete))
	m.HandleFunc("POST /requests/{id}/token", h.page(h.issueToken))
	m.HandleFunc("POST /requests", h.page(h.createRequest))

	// Tickets.
	m.HandleFunc("GET /tickets", h.page(h.ticketList))
	m.HandleFunc("POST /tickets", h.page(h.createTicket))
	m.HandleFunc("GET /tickets/{id}", h.page(h.ticketPage))
	m.HandleFunc("POST /tickets/{id}/comments", h.page(h.comment))
	m.HandleFunc("POST /tickets/{id}/resolve", h.page(h.resolve))
	m.HandleFunc("GET /tickets/{id}/request-access", h.page(h.requestForm))

	// The customer's settings and log.
	m.HandleFunc("GET /settings", h.page(h.settingsPage))
	m.HandleFunc("POST /settings", h.page(h.saveSettings))
	m.HandleFunc("POST /settings/webhooks/rotate", h.page(h.rotateWebhook))
	m.HandleFunc("GET /log", h.page(h.logPage))

	// The operator's console.
	m.HandleFunc("GET /approvals", h.page(h.approvals))
	m.HandleFunc("GET /access", h.page(h.myAccess))
	m.HandleFunc("GET /tenants", h.page(h.tenantList))
	m.HandleFunc("POST /tenants", h.page(h.createTenant))
	m.HandleFunc("GET /tenants/{id}", h.page(h.tenantPage))
	m.HandleFunc("GET /users", h.page(h.userList))
	m.HandleFunc("POST /users", h.page(h.createUser))
	m.HandleFunc("GET /users/{id}", h.page(h.userPage))
	m.HandleFunc("POST /users/{id}", h.page(h.updateUser))
	m.HandleFunc("POST /users/{id}/remove", h.page(h.removeUser))
	m.HandleFunc("POST /users/{id}/invitation", h.page(h.reinviteUser))
	m.HandleFunc("POST /users/{id}/tokens", h.page(h.createAPIToken))
	m.HandleFunc("GET /account", h.page(h.account))
	m.HandleFunc("POST /account/password", h.page(h.changePassword))

	m.HandleFunc("/", h.notFound)
}

// cacheStatic lets browsers keep the embedded assets for an hour.
func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}
