package gateway

import (
	"time"

	"github.com/lockbox-dev/lockbox"
)

// Decision is the outcome of an access check.
type Decision string

// Decisions.
const (
	Allowed Decision = "allowed"
	Refused Decision = "refused"
)

// Phase tells a decision record from the completion record that follows an
// allowed access once the response is known. Records are append-only: the
// completion is a second record pointing at the first, never an update.
type Phase string

// Phases.
const (
	PhaseDecision  Phase = "decision"
	PhaseCompleted Phase = "completed"
	// PhaseSummary is a count of refusals that came before any token
	// verified, by reason, over an interval: anonymous traffic is counted,
	// never recorded per request, and the summary names no tenant (it goes
	// to the operator's system log).
	PhaseSummary Phase = "summary"
)

// Reason codes: the "reason" of a record and the "code" of a refusal's JSON
// error. They are stable strings clients and the customer's log rely on.
const (
	ReasonGranted          = "granted"                 // allowed
	ReasonNonCanonicalPath = "non_canonical_path"      // 400: dot segments, //, \ or control characters
	ReasonNoRoute          = "route_not_found"         // 404: closed by default
	ReasonNoToken          = "token_missing"           // 401
	ReasonMalformed        = "token_malformed"         // 401
	ReasonBadSignature     = "token_bad_signature"     // 401 (also alg none, HS256, …)
	ReasonUnknownKey       = "token_unknown_key"       // 401
	ReasonExpired          = "token_expired"           // 401
	ReasonNotYetValid      = "token_not_yet_valid"     // 401
	ReasonWrongAudience    = "token_wrong_audience"    // 401
	ReasonWrongIssuer      = "token_wrong_issuer"      // 401
	ReasonTooLong          = "token_lifetime_too_long" // 401
	ReasonKeysUnavailable  = "keys_unavailable"        // 503: the JWKS cannot be fetched
	ReasonFeedUnavailable  = "revocations_unavailable" // 503: revocation feed not synced or stale
	ReasonEnded            = "access_ended"            // 403: revoked, completed, released
	ReasonWrongTenant      = "wrong_tenant"            // 403
	ReasonOutOfScope       = "out_of_scope"            // 403: resource not in the token
	ReasonLevel            = "insufficient_level"      // 403
	ReasonCannotRecord     = "cannot_record"           // 503: fail closed
	ReasonUpstream         = "upstream_unavailable"    // 502, in completion records
	ReasonTooLarge         = "body_too_large"          // 413, in completion records
	ReasonCompleted        = "completed"               // completion of an allowed access
	ReasonAborted          = "response_aborted"        // completion: the response broke off midway
	// ReasonUnverifiedSummary is the reason of a summary record.
	ReasonUnverifiedSummary = "unverified_refusals"
)

// AccessRecord is one recorded access: the decision, taken and made durable
// before any byte reaches the protected service, and — for allowed accesses
// — a completion record with the response status and size. The lead's server
// turns each into an event in the tenant's log (docs/design.md §6).
//
// JSON (the wire format of POST /v1/access-events):
//
//	{"id":"acc_…","phase":"decision","time":"2030-05-01T09:00:00.123456Z",
//	 "gateway":"gw-eu1","tenant_id":"ten_…","request_id":"req_…",
//	 "requester_id":"usr_…","token_id":"grt_…","method":"GET",
//	 "path":"/tenants/ten_…/mailboxes/alice/inbox","route":"GET /tenants/{tenant}/mailboxes/{mailbox}/{rest...}",
//	 "resource":"mailbox:alice","level":"read","decision":"allowed",
//	 "reason":"granted","message":"…","client_addr":"10.0.0.7"}
//	{"id":"acc_…","phase":"completed","decision_id":"acc_…", …same fields…,
//	 "status":200,"bytes":5120,"duration_ms":12}
type AccessRecord struct {
	// ID is unique per record; the server must treat a record whose id it
	// already holds as recorded (shipping is at-least-once).
	ID string `json:"id"`
	// Phase is decision, completed or summary; DecisionID links a
	// completion to its decision.
	Phase      Phase     `json:"phase"`
	DecisionID string    `json:"decision_id,omitempty"`
	Time       time.Time `json:"time"`
	// Gateway names the enforcement point.
	Gateway string `json:"gateway,omitempty"`
	// TenantID is the tenant whose content the request targeted (from the
	// route), which is the log the record belongs in; only records of a
	// verified token carry one. Empty on summaries: the server files those
	// in the system log.
	TenantID lockbox.TenantID `json:"tenant_id,omitempty"`
	// RequestID, RequesterID (sub) and TokenID (jti) come from a token that
	// verified (an unverified token's claims are not evidence of
	// anything, and its refusal is only counted: see Unverified).
	RequestID   lockbox.RequestID `json:"request_id,omitempty"`
	RequesterID lockbox.UserID    `json:"requester_id,omitempty"`
	TokenID     string            `json:"token_id,omitempty"`
	// Method and Path (escaped, without the query string, which may hold
	// content) of the HTTP request.
	Method string `json:"method"`
	Path   string `json:"path"`
	// Route, Resource and Level are what the route table resolved.
	Route    string              `json:"route,omitempty"`
	Resource string              `json:"resource,omitempty"`
	Level    lockbox.AccessLevel `json:"level,omitempty"`
	Decision Decision            `json:"decision"`
	Reason   string              `json:"reason"`
	// Message says why in words, as the refused client was told.
	Message    string `json:"message,omitempty"`
	ClientAddr string `json:"client_addr,omitempty"`
	// Status, Bytes (response body bytes sent to the client) and DurationMS
	// are set on completion records.
	Status     int   `json:"status,omitempty"`
	Bytes      int64 `json:"bytes,omitempty"`
	DurationMS int64 `json:"duration_ms,omitempty"`
	// Since, Counts (by reason) and Total are set on summary records: the
	// refusals before any token verified, from Since to Time.
	Since  *time.Time       `json:"since,omitempty"`
	Counts map[string]int64 `json:"counts,omitempty"`
	Total  int64            `json:"total,omitempty"`
}

// Unverified reports whether rec is a refusal that came before any grant
// token verified (missing, forged, expired, wrong audience…, or no route at
// all). Such a record rests on nothing but what an anonymous client sent,
// so it is never filed in a tenant's log (invariant 13): the gateway counts
// it, and summarizes the counts.
func (r AccessRecord) Unverified() bool {
	return r.Phase == PhaseDecision && r.Decision == Refused && r.RequestID == ""
}

// maxRecordedPath bounds the path kept in a record, so a client cannot make
// the customer's log carry megabytes per request.
const maxRecordedPath = 2048

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
