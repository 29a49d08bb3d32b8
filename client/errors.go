package client

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/lockbox-dev/lockbox"
)

// APIError is a non-2xx answer of the server. Code and Message come from the
// error body (lockbox.ErrorBody); for an answer without one (a proxy's error
// page) Code follows the status and Message says what came back.
//
// errors.Is(err, lockbox.ErrNotFound) (and the other sentinels) holds for an
// APIError with that code, and errors.As(err, &e) with e a *lockbox.Error
// yields the domain error, so lockbox.ErrorCodeOf works too.
type APIError struct {
	StatusCode int
	Code       lockbox.ErrorCode
	Message    string
	Details    []string
}

// Error reads like "409 conflict: request req_x is approved and cannot
// become canceled", followed by the details, if any.
func (e *APIError) Error() string {
	var b strings.Builder
	code := string(e.Code)
	if code == "" {
		code = strings.ToLower(http.StatusText(e.StatusCode))
	}
	fmt.Fprintf(&b, "%d %s: %s", e.StatusCode, code, e.Message)
	if len(e.Details) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(e.Details, "; "))
	}
	return b.String()
}

// Is reports whether target is a *lockbox.Error with the same code, so
// errors.Is(err, lockbox.ErrConflict) tests the class of an API error.
func (e *APIError) Is(target error) bool {
	t, ok := target.(*lockbox.Error)
	return ok && e.Code != "" && t.Code == e.Code
}

// Unwrap returns the error as a domain error, for errors.As and
// lockbox.ErrorCodeOf.
func (e *APIError) Unwrap() error {
	if e.Code == "" {
		return nil
	}
	return &lockbox.Error{Code: e.Code, Message: e.Message, Details: e.Details}
}

// codeForStatus is the error code the contract pairs with an HTTP status,
// used when an error answer carries no code of its own.
func codeForStatus(status int) lockbox.ErrorCode { return lockbox.CodeForHTTPStatus(status) }
