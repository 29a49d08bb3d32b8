package lockbox_test

import (
	"errors"
	"testing"

	"github.com/lockbox-dev/lockbox"
)

// The API contract's pairs of error code and HTTP status (docs/design.md §4).
func TestErrorCodesAndStatuses(t *testing.T) {
	want := map[lockbox.ErrorCode]int{
		"bad_request": 400, "unauthenticated": 401, "forbidden": 403, "not_found": 404,
		"conflict": 409, "invalid": 422, "rate_limited": 429, "internal": 500,
	}
	for code, status := range want {
		if got := code.HTTPStatus(); got != status {
			t.Errorf("%s: status %d, want %d", code, got, status)
		}
		if got := lockbox.CodeForHTTPStatus(status); got != code {
			t.Errorf("status %d: code %q, want %q", status, got, code)
		}
	}
	if lockbox.ErrorCode("bogus").HTTPStatus() != 500 || lockbox.CodeForHTTPStatus(418) != "" || lockbox.CodeForHTTPStatus(503) != lockbox.CodeInternal {
		t.Error("unknown codes and statuses")
	}
	err := lockbox.Errorf(lockbox.CodeConflict, "request %s is approved", "req_1")
	if !errors.Is(err, lockbox.ErrConflict) || errors.Is(err, lockbox.ErrNotFound) || lockbox.ErrorCodeOf(err) != lockbox.CodeConflict {
		t.Errorf("errors.Is by code: %v", err)
	}
	if lockbox.ErrorCodeOf(errors.New("plain")) != lockbox.CodeInternal {
		t.Error("a plain error is not internal")
	}
}
