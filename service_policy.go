package lockbox

import (
	"context"
	"errors"
	"fmt"
)

// PolicyInfo describes the running JIT policy to operators.
func (s *Service) PolicyInfo(p *Principal) (*PolicyInfo, error) {
	if !p.User.IsOperator() {
		return nil, Errorf(CodeForbidden, "only operators see the JIT policy")
	}
	rp, ok := s.policy.(ReloadablePolicy)
	if !ok {
		return nil, Errorf(CodeConflict, "this server's JIT policy was built into the program and has no source to show")
	}
	info := rp.PolicyInfo()
	return &info, nil
}

// ReloadPolicy reads the JIT policy file again and, when it is valid,
// replaces the running policy; requests filed from then on are decided by
// the new one. An operator admin may ask for it; p is nil when the server
// itself reloads (SIGHUP). A replacement is recorded in the system log in
// the same step: the new policy runs only once its event is committed (a
// file whose text did not change is not recorded again). An
// invalid file changes nothing and the error lists every problem as
// FILE:LINE:COL: message.
func (s *Service) ReloadPolicy(ctx context.Context, p *Principal) (*PolicyInfo, error) {
	var actor UserID
	if p != nil {
		if !p.User.IsOperatorAdmin() {
			return nil, Errorf(CodeForbidden, "only operator admins reload the JIT policy")
		}
		actor = p.ID()
	}
	rp, ok := s.policy.(ReloadablePolicy)
	if !ok {
		return nil, Errorf(CodeConflict, "this server's JIT policy was built into the program and cannot be reloaded")
	}
	info, err := rp.Reload(func(old, next PolicyInfo) error {
		if next.Source == old.Source && next.SHA256 == old.SHA256 {
			return nil // the same text: nothing changes, nothing to record
		}
		return s.update(ctx, func(tx *txn) error {
			return tx.emit(NewEvent(SystemLog, EventPolicyReloaded, actor, s.now(), map[string]any{
				"source": next.Source, "sha256": next.SHA256, "policies": next.Policies,
				"previous_source": old.Source, "previous_sha256": old.SHA256,
			}))
		})
	})
	if err != nil {
		running := rp.PolicyInfo()
		s.log.Error("JIT policy reload failed; the running policy stays", "err", err, "problems", errorDetails(err),
			"running_source", running.Source, "running_sha256", running.SHA256)
		var e *Error
		if errors.As(err, &e) {
			return nil, &Error{Code: e.Code, Details: e.Details,
				Message: fmt.Sprintf("%s; the running policy (%s, sha256 %.12s) stays", e.Message, running.Source, running.SHA256)}
		}
		return nil, err
	}
	s.log.Info("JIT policy reloaded", "source", info.Source, "sha256", info.SHA256, "policies", len(info.Policies), "actor", actor)
	return &info, nil
}

// errorDetails returns the details of a domain error, if any.
func errorDetails(err error) []string {
	var e *Error
	if errors.As(err, &e) {
		return e.Details
	}
	return nil
}
