package lockbox

import "time"

// The bodies of the HTTP API (docs/design.md §4). They live in the domain package so
// the server, the Go client and the CLI share one definition of the wire
// format. Fields are snake_case; durations are Go duration strings.

// LoginInput is the body of POST /v1/auth/login. OTP makes the session MFA.
type LoginInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	OTP      string `json:"otp,omitempty"`
}

// LoginOutput answers a successful login.
type LoginOutput struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      *User     `json:"user"`
}

// Me is the caller as GET /v1/me shows it: the user and how this session was
// authenticated.
type Me struct {
	User
	MFA bool     `json:"mfa"`
	AMR []string `json:"amr"`
}

// TOTPEnrollment answers POST /v1/me/totp: the secret to load into an
// authenticator app, shown once.
type TOTPEnrollment struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauth_url"`
}

// TOTPEnrollInput is the body of POST /v1/me/totp. Code is a current
// one-time code of the app already enrolled: replacing it needs one (and an
// MFA session); a first enrolment needs none.
type TOTPEnrollInput struct {
	Code string `json:"code,omitempty"`
}

// TOTPVerifyInput is the body of POST /v1/me/totp/verify.
type TOTPVerifyInput struct {
	Code string `json:"code"`
}

// CreateTenantInput is the body of POST /v1/tenants.
type CreateTenantInput struct {
	Name string `json:"name"`
}

// CreateUserInput is the body of POST /v1/users.
type CreateUserInput struct {
	Email       string   `json:"email"`
	DisplayName string   `json:"display_name"`
	Kind        UserKind `json:"kind"`
	TenantID    TenantID `json:"tenant_id,omitempty"`
	Roles       []Role   `json:"roles"`
	Groups      []string `json:"groups,omitempty"`
	Isolated    bool     `json:"isolated,omitempty"`
	// Password is refused (422): users are invited and choose their own
	// password (invariant 11). It is declared only to say so clearly.
	Password *string `json:"password,omitempty"`
}

// UpdateUserInput is the body of PATCH /v1/users/{id}; absent fields stay.
type UpdateUserInput struct {
	DisplayName *string   `json:"display_name,omitempty"`
	Roles       *[]Role   `json:"roles,omitempty"`
	Groups      *[]string `json:"groups,omitempty"`
	Isolated    *bool     `json:"isolated,omitempty"`
	// Password is the new password: only the user itself sets it, on a
	// sign-in session (never an API token), with CurrentPassword.
	Password        *string `json:"password,omitempty"`
	CurrentPassword *string `json:"current_password,omitempty"`
}

// CreateTokenInput is the body of POST /v1/users/{id}/tokens.
type CreateTokenInput struct {
	Name      string    `json:"name"`
	ExpiresIn *Duration `json:"expires_in,omitempty"`
}

// TokenOutput answers the creation of an API token; the secret is shown once.
type TokenOutput struct {
	ID        string     `json:"id"`
	Token     string     `json:"token"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// CreateTicketInput is the body of POST /v1/tickets.
type CreateTicketInput struct {
	TenantID    TenantID `json:"tenant_id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Severity    int      `json:"severity"`
	AssigneeID  UserID   `json:"assignee_id,omitempty"`
}

// CommentInput is the body of POST /v1/tickets/{id}/comments.
type CommentInput struct {
	Body string `json:"body"`
}

// CreateRequestInput is the body of POST /v1/requests.
type CreateRequestInput struct {
	TicketID      TicketID    `json:"ticket_id"`
	Resources     []string    `json:"resources"`
	AccessLevel   AccessLevel `json:"access_level"`
	ReasonType    ReasonType  `json:"reason_type"`
	Justification string      `json:"justification"`
	Duration      Duration    `json:"duration"`
}

// ApproveInput is the body of POST /v1/requests/{id}/approve. The reason is
// optional (a denial needs one, an approval does not); duration may only
// shorten the access.
type ApproveInput struct {
	Reason   string    `json:"reason,omitempty"`
	Duration *Duration `json:"duration,omitempty"`
}

// ReasonInput is the body of /deny and /revoke.
type ReasonInput struct {
	Reason string `json:"reason"`
}

// List is a page of a list answer.
type List[T any] struct {
	Items         []T    `json:"items"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

// ErrorBody is the body of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong.
type ErrorDetail struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
	Details []string  `json:"details,omitempty"`
}
