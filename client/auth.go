package client

import (
	"context"
	"net/http"

	"github.com/lockbox-dev/lockbox"
)

// Login signs in with e-mail and password, and a TOTP code for an MFA
// session. The answer's token authenticates later calls: pass it to New or
// WithToken. Login sends no Authorization header whatever the client's token.
func (c *Client) Login(ctx context.Context, in lockbox.LoginInput) (*lockbox.LoginOutput, error) {
	out := new(lockbox.LoginOutput)
	if err := c.WithToken("").post(ctx, "/v1/auth/login", in, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Logout ends the session the client signs in with: the server deletes it,
// so the token is refused from then on. An API token is not a session: the
// server refuses it with lockbox.CodeInvalid (422).
func (c *Client) Logout(ctx context.Context) error {
	_, err := c.Do(ctx, http.MethodPost, "/v1/auth/logout", nil, nil, nil)
	return err
}

// Me returns the caller, with its roles, groups and whether this session is
// MFA.
func (c *Client) Me(ctx context.Context) (*lockbox.Me, error) {
	return getID[lockbox.Me](ctx, c, nil, "/v1/me")
}

// EnrollTOTP starts TOTP enrolment: the answer holds the secret and the
// otpauth:// URL for an authenticator app. VerifyTOTP confirms it, from
// the same session, within 10 minutes. Replacing an enrolled app needs an
// MFA session and a current code of that app (in.Code).
func (c *Client) EnrollTOTP(ctx context.Context, in lockbox.TOTPEnrollInput) (*lockbox.TOTPEnrollment, error) {
	return postID[lockbox.TOTPEnrollment](ctx, c, in, "/v1/me/totp")
}

// VerifyTOTP confirms the pending TOTP enrolment with a current code and
// returns the caller. Should the server answer 204 No Content, VerifyTOTP
// reads /v1/me, so the caller always gets the user back.
func (c *Client) VerifyTOTP(ctx context.Context, in lockbox.TOTPVerifyInput) (*lockbox.Me, error) {
	out := new(lockbox.Me)
	status, err := c.Do(ctx, http.MethodPost, "/v1/me/totp/verify", nil, in, out)
	if err != nil {
		return nil, err
	}
	if status == http.StatusNoContent {
		return c.Me(ctx)
	}
	return out, nil
}

// Healthz reports whether the server is alive: nil for any 2xx answer of
// GET /healthz.
func (c *Client) Healthz(ctx context.Context) error {
	return c.get(ctx, "/healthz", nil, nil)
}

// Readyz reports whether the server is ready to serve (its database
// answers): nil for any 2xx answer of GET /readyz.
func (c *Client) Readyz(ctx context.Context) error {
	return c.get(ctx, "/readyz", nil, nil)
}
