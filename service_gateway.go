package lockbox

import (
	"context"
	"unicode"
	"unicode/utf8"
)

// MaxRevocationPage bounds a page of the revocation feed.
const MaxRevocationPage = 1000

// AuthorizeFeed checks that p may read the revocation feed: gateway
// service accounts and operators. Customers learn nothing of other
// tenants' requests from it.
func AuthorizeFeed(p *Principal) error {
	u := p.User
	if u.IsOperator() || isGateway(u) {
		return nil
	}
	return Errorf(CodeForbidden, "only gateway accounts and operators read the revocation feed")
}

// isGateway reports whether u is an active gateway service account.
func isGateway(u *User) bool {
	return u.Active() && u.Kind == KindOperator && u.HasRole(RoleGateway)
}

// ListRevocations returns up to limit ended requests after the cursor seq,
// in feed order, and the feed's head (the newest seq overall), read in the
// same snapshot.
func (s *Service) ListRevocations(ctx context.Context, p *Principal, after int64, limit int) ([]Revocation, int64, error) {
	if err := AuthorizeFeed(p); err != nil {
		return nil, 0, err
	}
	if limit <= 0 || limit > MaxRevocationPage {
		limit = MaxRevocationPage
	}
	var items []Revocation
	var head int64
	err := s.view(ctx, func(r Reader) error {
		var err error
		if items, err = r.ListRevocations(ctx, after, limit); err != nil {
			return err
		}
		head, err = r.RevocationHead(ctx)
		return err
	})
	return items, head, err
}

// Access event types: one per record an enforcement point sends.
const (
	EventAccessAllowed   EventType = "access.allowed"
	EventAccessRefused   EventType = "access.refused"
	EventAccessCompleted EventType = "access.completed"
	// EventAccessRecorded is a record whose phase and decision this server
	// does not know: still recorded, never refused for its content.
	EventAccessRecorded EventType = "access.recorded"
	// EventAccessUnverifiedSummary, in the system log only, counts by
	// reason the requests an enforcement point refused before any grant
	// token verified, over an interval: anonymous traffic is in no
	// tenant's log (invariant 13).
	EventAccessUnverifiedSummary EventType = "access.unverified_summary"
)

// Limits of POST /v1/access-events.
const (
	MaxAccessRecords  = 1000
	maxAccessRecordID = 200
)

// AccessRecord is one record of an enforcement point (package gateway's
// AccessRecord), kept whole as the event's data. Only the fields the server
// files it by are read; the others are the record's content, which is
// never a reason to refuse it.
type AccessRecord struct {
	ID          string
	TenantID    TenantID
	RequestID   RequestID
	RequesterID UserID
	Phase       string
	Decision    string
	// Data is the record as sent, decoded (numbers kept exact).
	Data map[string]any
}

// RecordAccess appends one event per record to the log of the record's
// tenant, all in one transaction, and returns how many records are now
// recorded (all of them: a record whose id was recorded before counts and
// is not appended again, since gateways ship at least once). Only gateway
// accounts record accesses. A record naming no tenant, or a tenant that
// does not exist, goes to the system log: an access attempt at an unknown
// tenant is still on record, and no log is opened for a made-up tenant.
//
// A record for an existing tenant must rest on a verified grant token: it
// names a request (and, if it names a requester, that request's
// requester), of that tenant unless it is a refusal (a grant of one tenant
// tried on another's content is the other's to see). Anything else is 422
// and records nothing: nothing reaches a tenant's log per request without a
// verified identity, whatever a gateway account sends (invariant 13).
func (s *Service) RecordAccess(ctx context.Context, p *Principal, records []AccessRecord) (int, error) {
	if !isGateway(p.User) {
		return 0, Errorf(CodeForbidden, "only gateway accounts record accesses")
	}
	if len(records) > MaxAccessRecords {
		return 0, Errorf(CodeInvalid, "records: at most %d in one request", MaxAccessRecords)
	}
	for i, r := range records {
		if r.ID == "" || len(r.ID) > maxAccessRecordID || !printable(r.ID) {
			return 0, Errorf(CodeBadRequest, "records[%d].id must be 1 to %d printable characters", i, maxAccessRecordID)
		}
		if len(r.TenantID) > maxAccessRecordID || !printable(string(r.TenantID)) || len(r.RequestID) > maxAccessRecordID || !printable(string(r.RequestID)) ||
			len(r.RequesterID) > maxAccessRecordID || !printable(string(r.RequesterID)) {
			return 0, Errorf(CodeBadRequest, "records[%d]: tenant_id, request_id and requester_id must be at most %d printable characters", i, maxAccessRecordID)
		}
	}
	err := s.update(ctx, func(tx *txn) error {
		tenants := map[TenantID]bool{}
		requests := map[RequestID]*AccessRequest{}
		now := s.now()
		for i, r := range records {
			log := SystemLog
			if r.TenantID != "" && r.TenantID != SystemLog {
				known, ok := tenants[r.TenantID]
				if !ok {
					_, err := tx.GetTenant(ctx, r.TenantID)
					switch {
					case err == nil:
						known = true
					case ErrorCodeOf(err) != CodeNotFound:
						return err
					}
					tenants[r.TenantID] = known
				}
				if known {
					log = r.TenantID
					if err := verifiedRecord(ctx, tx, requests, i, r); err != nil {
						return err
					}
				}
			}
			isNew, err := tx.MarkAccessRecord(ctx, r.ID, log)
			if err != nil {
				return err
			}
			if !isNew {
				continue
			}
			e := NewEvent(log, accessEventType(r), p.User.ID, now, r.Data)
			if log == r.TenantID {
				e.RequestID = r.RequestID
			}
			if err := tx.emit(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(records), nil
}

// verifiedRecord checks that r, for an existing tenant, rests on a verified
// grant token: it names an existing request — of r's tenant unless r is a
// refusal — and that request's requester, if any.
func verifiedRecord(ctx context.Context, tx *txn, requests map[RequestID]*AccessRequest, i int, r AccessRecord) error {
	refuse := func(why string) error {
		return Errorf(CodeInvalid, "records[%d]: a record for tenant %s must name a request of a verified grant token (%s); refusals of requests without a verified token are counted by the gateway, not recorded in a tenant's log (invariant 13)", i, r.TenantID, why)
	}
	if r.RequestID == "" {
		return refuse("request_id is missing")
	}
	req, ok := requests[r.RequestID]
	if !ok {
		var err error
		if req, err = tx.GetRequest(ctx, r.RequestID); err != nil {
			if ErrorCodeOf(err) == CodeNotFound {
				return refuse("request " + string(r.RequestID) + " does not exist")
			}
			return err
		}
		requests[r.RequestID] = req
	}
	if req.TenantID != r.TenantID && !(r.Phase == "decision" && r.Decision == "refused") {
		return refuse("request " + string(r.RequestID) + " is another tenant's")
	}
	if r.RequesterID != "" && r.RequesterID != req.RequesterID {
		return refuse("requester_id is not the request's requester")
	}
	return nil
}

// accessEventType names the event of a record.
func accessEventType(r AccessRecord) EventType {
	switch {
	case r.Phase == "summary":
		return EventAccessUnverifiedSummary
	case r.Phase == "completed":
		return EventAccessCompleted
	case r.Decision == "allowed":
		return EventAccessAllowed
	case r.Decision == "refused":
		return EventAccessRefused
	}
	return EventAccessRecorded
}

// printable reports whether s is valid UTF-8 without control characters
// (which PostgreSQL text and the log's readers would not take).
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if unicode.IsControl(c) {
			return false
		}
	}
	return true
}
