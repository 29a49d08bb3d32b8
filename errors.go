package lockbox

import (
	"errors"
	"fmt"
)

// ErrorCode classifies a failure the way a client must react to it. Each code
// maps to exactly one HTTP status in httpapi, so the mapping lives in one place.
type ErrorCode string

// The error codes of the API contract (docs/design.md §4).
const (
	CodeBadRequest      ErrorCode = "bad_request"     // 400: malformed input
	CodeUnauthenticated ErrorCode = "unauthenticated" // 401
	CodeForbidden       ErrorCode = "forbidden"       // 403
	CodeNotFound        ErrorCode = "not_found"       // 404
	CodeConflict        ErrorCode = "conflict"        // 409: wrong state
	CodeInvalid         ErrorCode = "invalid"         // 422: well-formed but invalid
	CodeRateLimited     ErrorCode = "rate_limited"    // 429
	CodeInternal        ErrorCode = "internal"        // 500
)

// httpStatus pairs each code with its HTTP status: the one table the server
// answers by and the client reads answers by.
var httpStatus = map[ErrorCode]int{
	CodeBadRequest:      400,
	CodeUnauthenticated: 401,
	CodeForbidden:       403,
	CodeNotFound:        404,
	CodeConflict:        409,
	CodeInvalid:         422,
	CodeRateLimited:     429,
	CodeInternal:        500,
}

// HTTPStatus is the HTTP status of the code (500 for an unknown code).
func (c ErrorCode) HTTPStatus() int {
	if s, ok := httpStatus[c]; ok {
		return s
	}
	return 500
}

// CodeForHTTPStatus is the code the contract pairs with an HTTP status: ""
// for a status it does not use below 500, CodeInternal for any 5xx.
func CodeForHTTPStatus(status int) ErrorCode {
	for c, s := range httpStatus {
		if s == status {
			return c
		}
	}
	if status >= 500 {
		return CodeInternal
	}
	return ""
}

// Error is a domain error with a message a user can act on.
type Error struct {
	Code    ErrorCode
	Message string
	// Details carries structured reasons, such as the reasons a policy refused
	// a request. It is shown to the caller.
	Details []string
}

func (e *Error) Error() string { return e.Message }

// Is makes errors.Is(err, ErrNotFound) true for any *Error with the same code,
// so callers test the class of an error rather than its text.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinel errors, one per code, for errors.Is.
var (
	ErrBadRequest      = &Error{Code: CodeBadRequest, Message: "bad request"}
	ErrUnauthenticated = &Error{Code: CodeUnauthenticated, Message: "authentication required"}
	ErrForbidden       = &Error{Code: CodeForbidden, Message: "forbidden"}
	ErrNotFound        = &Error{Code: CodeNotFound, Message: "not found"}
	ErrConflict        = &Error{Code: CodeConflict, Message: "conflict"}
	ErrInvalid         = &Error{Code: CodeInvalid, Message: "invalid"}
	ErrRateLimited     = &Error{Code: CodeRateLimited, Message: "too many requests"}
)

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCodeOf returns the code of the first *Error in err's chain, or
// CodeInternal when there is none.
func ErrorCodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
