package httpapi

import (
	"io"
	"net/http"
	"reflect"
	"strconv"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/grant"
	"github.com/lockbox-dev/lockbox/tlog"
)

// route is one API operation. The mux and the OpenAPI document are both
// built from the route table, so they cannot disagree.
type route struct {
	Method, Path, Summary string
	// Who says who may call it, for the document.
	Who    string
	Public bool
	Status int
	Query  []param
	In     reflect.Type // nil: no body
	Out    reflect.Type // nil: no body (204)
	// ContentType of the answer, when not JSON (documentation only).
	ContentType string
	handle      func(c *call, body io.Reader) (any, error)
	// raw, when set, answers the call itself once it is authenticated and
	// authorised (the transparency log endpoints, served by package tlog).
	raw http.Handler
	// rawCall, when set, builds the raw handler for one authorised call.
	rawCall func(c *call) func(w http.ResponseWriter, r *http.Request)
	// authorize checks the caller of a raw route (default: it may read
	// the log of the tenant in the path).
	authorize func(c *call) error
}

// param is a documented query parameter.
type param struct{ Name, Description string }

// none is the input of operations without a body; a body, if sent, must be
// an empty object.
type none struct{}

// op builds a route whose body decodes into In and whose answer is Out.
func op[In, Out any](method, path string, status int, summary, who string, fn func(c *call, in *In) (Out, error)) route {
	rt := route{Method: method, Path: path, Summary: summary, Who: who, Status: status,
		Out: reflect.TypeFor[Out]()}
	if reflect.TypeFor[In]() != reflect.TypeFor[none]() {
		rt.In = reflect.TypeFor[In]()
	}
	if status == http.StatusNoContent {
		rt.Out = nil
	}
	rt.handle = func(c *call, body io.Reader) (any, error) {
		var in In
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return fn(c, &in)
	}
	return rt
}

// logOp is a transparency-log endpoint: the API authenticates the caller
// and checks it may read the tenant's log (path wildcard "id"; none for the
// key), then h answers with the shapes of docs/design.md §6.
func logOp(path, summary string, out reflect.Type, h http.Handler, query ...param) route {
	return route{Method: "GET", Path: path, Summary: summary, Who: "operators; the tenant's admins and approvers",
		Status: 200, Out: out, Query: query, raw: h}
}

func (rt route) public() route               { rt.Public = true; return rt }
func (rt route) withQuery(ps ...param) route { rt.Query = append(rt.Query, ps...); return rt }

var pageParams = []param{
	{"page_size", "items per page, 1 to 1000 (default 50)"},
	{"page_token", "the next_page_token of the previous page"},
}

func (s *Server) apiRoutes() []route {
	svc := s.svc
	rs := []route{
		op("POST", "/v1/auth/login", 200, "Sign in with e-mail, password and optionally a TOTP code (which makes the session MFA)", "anyone",
			func(c *call, in *lockbox.LoginInput) (*lockbox.LoginOutput, error) {
				return svc.Login(c.ctx, *in)
			}).public(),
		op("POST", "/v1/auth/logout", 204, "Sign out: end the caller's session, so its token is refused from then on (an API token is refused with 422: it is not a session)", "signed-in user",
			func(c *call, _ *none) (*struct{}, error) { return nil, svc.Logout(c.ctx, c.p) }),
		op("GET", "/v1/me", 200, "The caller, with roles, groups and whether this session is MFA", "signed-in user",
			func(c *call, _ *none) (*lockbox.Me, error) { return svc.Me(c.p), nil }),
		op("POST", "/v1/me/totp", 201, "Start TOTP enrolment: a secret to load into an authenticator app, to confirm from this session within 10 minutes. Replacing an enrolled app needs an MFA session and a current code of that app (code)", "signed-in user; to replace: MFA session and current code",
			func(c *call, in *lockbox.TOTPEnrollInput) (*lockbox.TOTPEnrollment, error) {
				return svc.EnrollTOTP(c.ctx, c.p, *in)
			}),
		op("POST", "/v1/me/totp/verify", 200, "Confirm this session's TOTP enrolment with a current code (wrong codes are throttled)", "the session that started the enrolment",
			func(c *call, in *lockbox.TOTPVerifyInput) (*lockbox.Me, error) {
				return svc.VerifyTOTP(c.ctx, c.p, in.Code)
			}),

		op("POST", "/v1/tenants", 201, "Create a tenant with the secure default lockbox settings", "operator_admin",
			func(c *call, in *lockbox.CreateTenantInput) (*lockbox.Tenant, error) {
				return svc.CreateTenant(c.ctx, c.p, *in)
			}),
		op("GET", "/v1/tenants", 200, "List tenants", "operators; customers see their own",
			func(c *call, _ *none) (lockbox.List[*lockbox.Tenant], error) {
				pg, err := c.page()
				if err != nil {
					return lockbox.List[*lockbox.Tenant]{}, err
				}
				return svc.ListTenants(c.ctx, c.p, pg)
			}).withQuery(pageParams...),
		op("GET", "/v1/tenants/{id}", 200, "Read a tenant", "operators; the tenant's customers",
			func(c *call, _ *none) (*lockbox.Tenant, error) {
				return svc.GetTenant(c.ctx, c.p, lockbox.TenantID(c.path("id")))
			}),
		op("GET", "/v1/tenants/{id}/lockbox", 200, "Read a tenant's lockbox settings", "operators; the tenant's admins and approvers",
			func(c *call, _ *none) (*lockbox.LockboxSettings, error) {
				return svc.GetLockbox(c.ctx, c.p, lockbox.TenantID(c.path("id")))
			}),
		op("PATCH", "/v1/tenants/{id}/lockbox", 200, "Change a tenant's lockbox settings", "the tenant's tenant_admin on an MFA session; never operators",
			func(c *call, in *lockbox.LockboxPatch) (*lockbox.LockboxSettings, error) {
				return svc.UpdateLockbox(c.ctx, c.p, lockbox.TenantID(c.path("id")), *in)
			}),
		op("POST", "/v1/tenants/{id}/lockbox/webhooks/rotate", 200, "Give a webhook a new signing secret, returned once (settings never show secrets again)", "the tenant's tenant_admin on an MFA session; never operators",
			func(c *call, in *lockbox.RotateWebhookSecretInput) (*lockbox.Webhook, error) {
				return svc.RotateWebhookSecret(c.ctx, c.p, lockbox.TenantID(c.path("id")), *in)
			}),
		op("GET", "/v1/tenants/{id}/events", 200, "The tenant's events, oldest first", "operators; the tenant's admins and approvers",
			func(c *call, _ *none) (lockbox.List[*lockbox.Event], error) {
				return s.listEvents(c)
			}).withQuery(param{"after", "only events with a greater index (default: from the start)"},
			param{"type", "only events of this type"}, pageParams[0],
			param{"page_token", "the next_page_token of the previous page (an index, like after)"}),

		op("POST", "/v1/users", 201, "Create and invite a user: a single-use link goes to the user's e-mail to choose their own password (and enrol TOTP where the roles need it); a password in the body is refused (422). A gateway service account is not invited", "operator_admin: operator users, and a tenant's tenant_admin while the tenant has no active admin; tenant_admin (MFA): its tenant's users",
			func(c *call, in *lockbox.CreateUserInput) (*lockbox.User, error) {
				return svc.CreateUser(c.ctx, c.p, *in)
			}),
		op("GET", "/v1/users", 200, "List active users", "operator_admin; a tenant's admins and approvers (its users)",
			func(c *call, _ *none) (lockbox.List[*lockbox.User], error) {
				pg, err := c.page()
				if err != nil {
					return lockbox.List[*lockbox.User]{}, err
				}
				f := lockbox.UserFilter{TenantID: lockbox.TenantID(c.query("tenant_id")), Kind: lockbox.UserKind(c.query("kind")), Page: pg}
				if f.Kind != "" && f.Kind != lockbox.KindOperator && f.Kind != lockbox.KindCustomer {
					return lockbox.List[*lockbox.User]{}, lockbox.Errorf(lockbox.CodeInvalid, "kind must be operator or customer")
				}
				return svc.ListUsers(c.ctx, c.p, f)
			}).withQuery(append([]param{{"tenant_id", "only this tenant's users"}, {"kind", "operator or customer"}}, pageParams...)...),
		op("GET", "/v1/users/{id}", 200, "Read a user", "the user; operator_admin; the tenant's admins and approvers",
			func(c *call, _ *none) (*lockbox.User, error) {
				return svc.GetUser(c.ctx, c.p, lockbox.UserID(c.path("id")))
			}),
		op("PATCH", "/v1/users/{id}", 200, "Change a user's name, roles, groups or isolation; or one's own password, with current_password, on a sign-in session (never an API token): the other sessions and tokens end and the owner is e-mailed", "operator_admin: operator users; tenant_admin: its tenant's users; anyone: own name; only the user itself, on a session: own password",
			func(c *call, in *lockbox.UpdateUserInput) (*lockbox.User, error) {
				return svc.UpdateUser(c.ctx, c.p, lockbox.UserID(c.path("id")), *in)
			}),
		op("DELETE", "/v1/users/{id}", 204, "Remove a user: its sessions and tokens end", "operator_admin: operator users; tenant_admin: its tenant's users",
			func(c *call, _ *none) (*struct{}, error) {
				return nil, svc.DeleteUser(c.ctx, c.p, lockbox.UserID(c.path("id")))
			}),
		op("POST", "/v1/users/{id}/tokens", 201, "Create a long-lived API token, shown once", "the user itself; operator_admin for a gateway service account",
			func(c *call, in *lockbox.CreateTokenInput) (*lockbox.TokenOutput, error) {
				return svc.CreateAPIToken(c.ctx, c.p, lockbox.UserID(c.path("id")), *in)
			}),
		op("POST", "/v1/users/{id}/invitation", 200, "Send the user a new invitation (a lost password, an expired link): the earlier link, the password, second factor, sessions and API tokens end. The operator's invitation of a tenant's admin is also told to the tenant's notification_emails", "operator_admin: operator users, and a tenant's tenant_admin while the tenant has no active admin; tenant_admin (MFA): its tenant's users",
			func(c *call, _ *none) (*lockbox.User, error) {
				return svc.Reinvite(c.ctx, c.p, lockbox.UserID(c.path("id")))
			}),
		op("DELETE", "/v1/users/{id}/invitation", 204, "Withdraw the user's open invitation: its link stops working", "as POST /v1/users/{id}/invitation",
			func(c *call, _ *none) (*struct{}, error) {
				return nil, svc.RevokeInvitation(c.ctx, c.p, lockbox.UserID(c.path("id")))
			}),
		op("GET", "/v1/invitations/{token}", 200, "Who an invitation is for, its roles, and whether accepting needs a second factor", "the holder of the invitation link (the token is the credential)",
			func(c *call, _ *none) (*lockbox.InvitationInfo, error) {
				return svc.GetInvitation(c.ctx, c.path("token"))
			}).public(),
		op("POST", "/v1/invitations/{token}/totp", 201, "Enrol a TOTP secret with the invitation (shown once; calling again replaces it); accepting with one of its codes makes it the user's second factor", "the holder of the invitation link",
			func(c *call, _ *none) (*lockbox.TOTPEnrollment, error) {
				return svc.InvitationTOTP(c.ctx, c.path("token"))
			}).public(),
		op("POST", "/v1/invitations/{token}/accept", 200, "Accept the invitation: set one's own password (and, with otp, the enrolled second factor) in one step; the link is spent. Then sign in", "the holder of the invitation link",
			func(c *call, in *lockbox.AcceptInvitationInput) (*lockbox.User, error) {
				return svc.AcceptInvitation(c.ctx, c.path("token"), *in)
			}).public(),

		op("POST", "/v1/tickets", 201, "Open a support ticket", "the tenant's customers; operators",
			func(c *call, in *lockbox.CreateTicketInput) (*lockbox.Ticket, error) {
				return svc.CreateTicket(c.ctx, c.p, *in)
			}),
		op("GET", "/v1/tickets", 200, "List tickets, newest first", "operators; customers (their tenant's)",
			func(c *call, _ *none) (lockbox.List[*lockbox.Ticket], error) {
				pg, err := c.page()
				if err != nil {
					return lockbox.List[*lockbox.Ticket]{}, err
				}
				return svc.ListTickets(c.ctx, c.p, lockbox.TicketFilter{TenantID: lockbox.TenantID(c.query("tenant_id")),
					Status: lockbox.TicketStatus(c.query("status")), Page: pg})
			}).withQuery(append([]param{{"tenant_id", "only this tenant's tickets"}, {"status", "open or resolved"}}, pageParams...)...),
		op("GET", "/v1/tickets/{id}", 200, "Read a ticket with its comments and history", "operators; the tenant's customers",
			func(c *call, _ *none) (*lockbox.Ticket, error) {
				return svc.GetTicket(c.ctx, c.p, lockbox.TicketID(c.path("id")))
			}),
		op("POST", "/v1/tickets/{id}/comments", 201, "Comment on an open ticket", "operators; the tenant's customers",
			func(c *call, in *lockbox.CommentInput) (*lockbox.Comment, error) {
				return svc.AddComment(c.ctx, c.p, lockbox.TicketID(c.path("id")), *in)
			}),
		op("POST", "/v1/tickets/{id}/resolve", 200, "Resolve a ticket: its approved access completes, its pending requests are canceled", "operators; the tenant's customers",
			func(c *call, _ *none) (*lockbox.Ticket, error) {
				return svc.ResolveTicket(c.ctx, c.p, lockbox.TicketID(c.path("id")))
			}),

		op("POST", "/v1/requests", 201, "Request access; the JIT policy decides at once", "engineer",
			func(c *call, in *lockbox.CreateRequestInput) (*lockbox.AccessRequest, error) {
				return svc.CreateRequest(c.ctx, c.p, *in)
			}),
		op("GET", "/v1/requests", 200, "List access requests, newest first", "operators; the tenant's admins and approvers",
			func(c *call, _ *none) (lockbox.List[*lockbox.AccessRequest], error) {
				pg, err := c.page()
				if err != nil {
					return lockbox.List[*lockbox.AccessRequest]{}, err
				}
				return svc.ListRequests(c.ctx, c.p, lockbox.RequestFilter{
					TenantID: lockbox.TenantID(c.query("tenant_id")), TicketID: lockbox.TicketID(c.query("ticket_id")),
					RequesterID: lockbox.UserID(c.query("requester_id")), Status: lockbox.RequestStatus(c.query("status")), Page: pg})
			}).withQuery(append([]param{{"tenant_id", "only this tenant's requests"}, {"status", "only requests in this status"},
			{"ticket_id", "only requests for this ticket"}, {"requester_id", "only this engineer's requests"}}, pageParams...)...),
		op("GET", "/v1/requests/{id}", 200, "Read an access request", "operators; the tenant's admins and approvers",
			func(c *call, _ *none) (*lockbox.AccessRequest, error) {
				return svc.GetRequest(c.ctx, c.p, lockbox.RequestID(c.path("id")))
			}),
		op("GET", "/v1/requests/{id}/notifications", 200, "The delivery history of a request's notifications (e-mails and webhooks): status, attempts, last error, next attempt, every attempt", "operators; the tenant's admins and approvers",
			func(c *call, _ *none) (lockbox.List[*lockbox.Notification], error) {
				return svc.RequestNotifications(c.ctx, c.p, lockbox.RequestID(c.path("id")))
			}),
		op("POST", "/v1/requests/{id}/approve", 200, "Approve, at the request's stage; duration may only shorten", "internal approvers (policy groups); the tenant's admins and approvers on an MFA session",
			func(c *call, in *lockbox.ApproveInput) (*lockbox.AccessRequest, error) {
				ri := lockbox.ReviewInput{Decision: lockbox.DecisionApprove, Reason: in.Reason}
				if in.Duration != nil {
					if *in.Duration <= 0 {
						return nil, lockbox.Errorf(lockbox.CodeInvalid, "duration must be positive")
					}
					ri.Duration = *in.Duration
				}
				return svc.Review(c.ctx, c.p, lockbox.RequestID(c.path("id")), ri)
			}),
		op("POST", "/v1/requests/{id}/deny", 200, "Deny, at the request's stage; the request ends as denied", "internal approvers (policy groups); the tenant's admins and approvers",
			func(c *call, in *lockbox.ReasonInput) (*lockbox.AccessRequest, error) {
				return svc.Review(c.ctx, c.p, lockbox.RequestID(c.path("id")), lockbox.ReviewInput{Decision: lockbox.DecisionDeny, Reason: in.Reason})
			}),
		op("POST", "/v1/requests/{id}/cancel", 200, "Withdraw a pending request", "the requester",
			func(c *call, _ *none) (*lockbox.AccessRequest, error) {
				return svc.Cancel(c.ctx, c.p, lockbox.RequestID(c.path("id")))
			}),
		op("POST", "/v1/requests/{id}/complete", 200, "Release approved access before its window ends", "the requester",
			func(c *call, _ *none) (*lockbox.AccessRequest, error) {
				return svc.Complete(c.ctx, c.p, lockbox.RequestID(c.path("id")))
			}),
		op("POST", "/v1/requests/{id}/revoke", 200, "End approved access at once", "the tenant's admins and approvers; operator_admin",
			func(c *call, in *lockbox.ReasonInput) (*lockbox.AccessRequest, error) {
				return svc.Revoke(c.ctx, c.p, lockbox.RequestID(c.path("id")), in.Reason)
			}),
		op("POST", "/v1/requests/{id}/token", 201, "Obtain a short-lived grant token (a JWT, exp at most the window end) for approved access; recorded as token.issued", "the requester, while the request is approved and inside its window",
			func(c *call, _ *none) (*lockbox.GrantToken, error) {
				return svc.IssueToken(c.ctx, c.p, lockbox.RequestID(c.path("id")))
			}),
	}
	rs = append(rs,
		op("GET", "/v1/admin/policy", 200, "The running JIT policy: its source file, the SHA-256 of its text, its policy ids and when it was loaded", "operators",
			func(c *call, _ *none) (*lockbox.PolicyInfo, error) { return svc.PolicyInfo(c.p) }),
		op("POST", "/v1/admin/policy/reload", 200, "Read the JIT policy file again and run it from now on (recorded as policy.reloaded in the system log). An invalid file answers 422 with every problem as FILE:LINE:COL: message in details, and the running policy stays. Each replica reloads its own file", "operator_admin",
			func(c *call, _ *none) (*lockbox.PolicyInfo, error) { return svc.ReloadPolicy(c.ctx, c.p) }),
		op("POST", "/v1/access-events", 200, "Record an enforcement point's access records: one event each in its tenant's log (unknown or no tenant: the system log), all in one transaction; ids already recorded count and are not appended again", "gateway accounts",
			func(c *call, in *AccessEventsInput) (*AccessEventsOutput, error) {
				recs, err := accessRecords(in)
				if err != nil {
					return nil, err
				}
				n, err := svc.RecordAccess(c.ctx, c.p, recs)
				if err != nil {
					return nil, err
				}
				return &AccessEventsOutput{Recorded: n}, nil
			}),
		op("GET", "/v1/revocations", 200, "Ended requests (revoked, completed, expired, denied, canceled) across tenants, in feed order after a cursor", "gateway accounts; operators",
			func(c *call, _ *none) (*RevocationPage, error) { return s.listRevocations(c) }).
			withQuery(append(revocationQuery, param{"limit", "items per page, 1 to 1000 (default 500)"})...),
		route{Method: "GET", Path: "/v1/revocations/stream", Summary: "Server-sent events: the feed after the cursor (or Last-Event-ID), then each item as it commits; a keepalive comment every 15 s",
			Who: "gateway accounts; operators", Status: 200, Out: reflect.TypeFor[RevocationItem](), ContentType: "text/event-stream",
			Query: revocationQuery, rawCall: s.revocationStream,
			authorize: func(c *call) error { return lockbox.AuthorizeFeed(c.p) }},
	)
	if s.jwks != nil {
		rs = append(rs, route{Method: "GET", Path: "/.well-known/jwks.json", Summary: "The grant tokens' public keys (JWK Set, Ed25519)",
			Who: "anyone", Public: true, Status: 200, Out: reflect.TypeFor[grant.JWKS](), ContentType: "application/jwk-set+json", raw: s.jwks,
			authorize: func(*call) error { return nil }})
	}
	if h := s.log; h != nil {
		checkpoint := logOp("/v1/tenants/{id}/log/checkpoint", "The tenant log's latest signed checkpoint (C2SP tlog-checkpoint, a signed note)", reflect.TypeFor[string](), h)
		checkpoint.ContentType = "text/plain"
		rs = append(rs,
			logOp("/v1/log/key", "The verifier key of the log checkpoints (name+hash+key)", reflect.TypeFor[tlog.KeyResponse](), h),
			checkpoint,
			logOp("/v1/tenants/{id}/log/entries", "The tenant log's entries: leaf bytes (base64) and the event", reflect.TypeFor[tlog.EntriesResponse](), h,
				param{"start", "first index (default 0)"}, param{"end", "index after the last (at most 10000 per answer)"}),
			logOp("/v1/tenants/{id}/log/proofs/inclusion", "RFC 6962 inclusion proof of an entry in the tree of a size", reflect.TypeFor[tlog.ProofResponse](), h,
				param{"index", "the entry"}, param{"size", "the tree size"}),
			logOp("/v1/tenants/{id}/log/proofs/consistency", "RFC 6962 consistency proof between two tree sizes", reflect.TypeFor[tlog.ProofResponse](), h,
				param{"from", "the older size"}, param{"to", "the newer size"}),
		)
	}
	return rs
}

// listEvents pages through a tenant's log by index.
func (s *Server) listEvents(c *call) (lockbox.List[*lockbox.Event], error) {
	var out lockbox.List[*lockbox.Event]
	pg, err := c.page()
	if err != nil {
		return out, err
	}
	pg, _ = pg.Normalize() // c.page already bounded the size
	f := lockbox.EventFilter{TenantID: lockbox.TenantID(c.path("id")), After: -1,
		Type: lockbox.EventType(c.query("type")), Limit: pg.Size}
	after := c.query("after")
	if pg.Token != "" { // the index cursor of the previous page
		after = pg.Token
	}
	if after != "" {
		n, err := strconv.ParseInt(after, 10, 64)
		if err != nil || n < -1 {
			return out, lockbox.Errorf(lockbox.CodeBadRequest, "after must be an event index (an integer >= -1)")
		}
		f.After = n
	}
	events, err := s.svc.ListEvents(c.ctx, c.p, f)
	if err != nil {
		return out, err
	}
	out.Items = events
	if len(events) == f.Limit {
		out.NextPageToken = strconv.FormatInt(events[len(events)-1].Index, 10)
	}
	return out, nil
}
