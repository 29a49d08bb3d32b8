package lockbox

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// UserKind separates the operator's staff from the customers' users.
type UserKind string

// User kinds.
const (
	KindOperator UserKind = "operator"
	KindCustomer UserKind = "customer"
)

// Role is a role a user holds. Operator and customer roles never mix.
type Role string

// Operator roles.
const (
	RoleOperatorAdmin Role = "operator_admin"
	RoleEngineer      Role = "engineer"
	// RoleGateway is the service account role of enforcement points: it may
	// read the revocation feed and record access events, nothing else.
	RoleGateway Role = "gateway"
)

// Customer roles.
const (
	RoleTenantAdmin     Role = "tenant_admin"
	RoleLockboxApprover Role = "lockbox_approver"
	RoleMember          Role = "member"
)

// RolesOf lists the roles a user of the kind may hold.
func RolesOf(k UserKind) []Role {
	if k == KindOperator {
		return []Role{RoleOperatorAdmin, RoleEngineer, RoleGateway}
	}
	return []Role{RoleTenantAdmin, RoleLockboxApprover, RoleMember}
}

// User is an operator's staff member or a customer's user.
type User struct {
	ID          UserID     `json:"id"`
	Kind        UserKind   `json:"kind"`
	Email       string     `json:"email"`
	DisplayName string     `json:"display_name"`
	TenantID    TenantID   `json:"tenant_id,omitempty"`
	Roles       []Role     `json:"roles"`
	Groups      []string   `json:"groups"`
	Isolated    bool       `json:"isolated"`
	TOTPEnabled bool       `json:"totp_enabled"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	DeletedAt   *time.Time `json:"deleted_at,omitempty"`

	// Secrets never leave the server: they have no JSON form.
	PasswordHash string `json:"-"`
	TOTPSecret   string `json:"-"` // confirmed secret, empty until verified
	TOTPPending  string `json:"-"` // enrolled, not yet confirmed
	TOTPLastStep int64  `json:"-"` // last accepted time step, against replay
}

// HasRole reports whether the user holds the role.
func (u *User) HasRole(r Role) bool { return slices.Contains(u.Roles, r) }

// InGroup reports whether the operator user is in the group.
func (u *User) InGroup(g string) bool { return slices.Contains(u.Groups, g) }

// Active reports whether the user exists and has not been removed.
func (u *User) Active() bool { return u != nil && u.DeletedAt == nil }

// IsOperator reports whether the user is active operator staff with a
// human role (admin or engineer); gateway accounts are not.
func (u *User) IsOperator() bool {
	return u.Active() && u.Kind == KindOperator && (u.HasRole(RoleOperatorAdmin) || u.HasRole(RoleEngineer))
}

// CanRequest reports whether the user may hold access requests: an active
// operator engineer. Filing a request and obtaining a grant token check it,
// and a change of the user after which it no longer holds ends the user's
// requests (invariant 12).
func (u *User) CanRequest() bool {
	return u.Active() && u.Kind == KindOperator && u.HasRole(RoleEngineer)
}

// IsOperatorAdmin reports whether the user is an active operator admin.
func (u *User) IsOperatorAdmin() bool {
	return u.Active() && u.Kind == KindOperator && u.HasRole(RoleOperatorAdmin)
}

// IsCustomerOf reports whether the user is an active customer of the tenant.
func (u *User) IsCustomerOf(t TenantID) bool {
	return u.Active() && u.Kind == KindCustomer && u.TenantID == t
}

// IsTenantAdminOf reports whether the user is an active tenant_admin of t.
func (u *User) IsTenantAdminOf(t TenantID) bool {
	return u.IsCustomerOf(t) && u.HasRole(RoleTenantAdmin)
}

// IsApproverOf reports whether the user may decide lockbox requests of t:
// an active customer of t holding tenant_admin or lockbox_approver.
func (u *User) IsApproverOf(t TenantID) bool {
	return u.IsCustomerOf(t) && (u.HasRole(RoleTenantAdmin) || u.HasRole(RoleLockboxApprover))
}

var groupPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// Field length limits.
const (
	MaxNameLen        = 200
	MaxTextLen        = 10000
	MinPasswordLen    = 10
	MaxPasswordLen    = 256
	maxGroupsPerUser  = 50
	maxRolesPerUser   = 3
	maxResourceLength = 256
)

// ValidateUserFields checks kind, roles, groups, tenant and display name of a
// user being created or changed.
func ValidateUserFields(u *User) error {
	switch u.Kind {
	case KindOperator:
		if u.TenantID != "" {
			return Errorf(CodeInvalid, "operator users belong to no tenant: remove tenant_id")
		}
	case KindCustomer:
		if u.TenantID == "" {
			return Errorf(CodeInvalid, "customer users need a tenant_id")
		}
		if len(u.Groups) > 0 {
			return Errorf(CodeInvalid, "groups are for operator users only")
		}
		if u.Isolated {
			return Errorf(CodeInvalid, "isolated is for operator users only")
		}
	default:
		return Errorf(CodeInvalid, "kind must be %q or %q", KindOperator, KindCustomer)
	}
	if err := ValidateName("display_name", u.DisplayName); err != nil {
		return err
	}
	if len(u.Roles) == 0 {
		return Errorf(CodeInvalid, "roles: give at least one of %v", RolesOf(u.Kind))
	}
	if len(u.Roles) > maxRolesPerUser {
		return Errorf(CodeInvalid, "roles: at most %d", maxRolesPerUser)
	}
	allowed := RolesOf(u.Kind)
	seen := map[Role]bool{}
	for _, r := range u.Roles {
		if !slices.Contains(allowed, r) {
			return Errorf(CodeInvalid, "roles: %q is not a role of %s users (use %v)", r, u.Kind, allowed)
		}
		if seen[r] {
			return Errorf(CodeInvalid, "roles: %q given twice", r)
		}
		seen[r] = true
	}
	if len(u.Groups) > maxGroupsPerUser {
		return Errorf(CodeInvalid, "groups: at most %d", maxGroupsPerUser)
	}
	for _, g := range u.Groups {
		if !groupPattern.MatchString(g) {
			return Errorf(CodeInvalid, "groups: %q must be lower-case letters, digits, '.', '_' or '-' (at most 63)", g)
		}
	}
	return nil
}

// ValidateName checks a required single-line name.
func ValidateName(field, s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return Errorf(CodeInvalid, "%s is required", field)
	case utf8.RuneCountInString(s) > MaxNameLen:
		return Errorf(CodeInvalid, "%s is longer than %d characters", field, MaxNameLen)
	case strings.ContainsAny(s, "\r\n\x00"):
		return Errorf(CodeInvalid, "%s must be a single line", field)
	}
	return nil
}

// ValidateText checks a free text field of at most MaxTextLen characters.
func ValidateText(field, s string, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return Errorf(CodeInvalid, "%s is required", field)
	case utf8.RuneCountInString(s) > MaxTextLen:
		return Errorf(CodeInvalid, "%s is longer than %d characters", field, MaxTextLen)
	case strings.ContainsRune(s, 0):
		return Errorf(CodeInvalid, "%s contains a NUL character", field)
	}
	return nil
}

// ValidatePassword checks a new password's length.
func ValidatePassword(p string) error {
	n := utf8.RuneCountInString(p)
	if n < MinPasswordLen || len(p) > MaxPasswordLen {
		return Errorf(CodeInvalid, "password must be %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// Principal is an authenticated caller: the user and how this session was
// authenticated. Policy and the customer approval step read MFA.
type Principal struct {
	User         *User
	CredentialID string
	// CredentialKind says whether the caller holds a sign-in session or a
	// long-lived API token: Logout ends sessions only.
	CredentialKind CredentialKind
	// AMR lists the authentication methods of the session (RFC 8176):
	// "pwd", "otp", or "token" for API tokens.
	AMR []string
}

// MFA reports whether the session was authenticated with a second factor.
func (p *Principal) MFA() bool { return slices.Contains(p.AMR, "otp") }

// ID returns the caller's user ID.
func (p *Principal) ID() UserID { return p.User.ID }
