// Package gateway is lockbox's enforcement point (docs/design.md §5): the reverse
// proxy of `lockbox gateway` and the Go middleware a service can embed
// instead. Both run the same code (Middleware); the proxy is that middleware
// in front of an httputil.ReverseProxy.
//
// For every request, in this order:
//
//  1. the path must be canonical (no dot or empty segments, also
//     percent-encoded ones; no backslashes or control characters), so the
//     gateway and the service cannot read it differently — else 400;
//  2. the route table places it (ServeMux semantics, most specific pattern
//     wins); unmatched requests are refused — closed by default — 404;
//  3. the bearer grant token must be present and verify (grant.Verifier:
//     EdDSA only, known kid, exact iss, aud lockbox-gateway, exp with no
//     leeway) — else 401, or 503 when no keys can be fetched;
//  4. the revocation feed must have synced and be fresh (heard from within
//     MaxFeedStaleness, 30 s by default),
//     and the token's request must not have ended — else 503 / 403;
//  5. the route's tenant must be the token's, the route's resource in the
//     token's resources, the route's level covered by the token's
//     (admin ⊇ write ⊇ read) — else 403;
//  6. the decision record is made durable (server acknowledgement, or the
//     local fsynced spool) — else 503 "cannot record the access": the
//     gateway fails closed;
//  7. the request goes upstream without its Authorization header (and with
//     X-Lockbox-Access-Id, -Request-Id, -Requester, -Tenant set by the
//     gateway, and every client-sent header a server could read as one of
//     them removed: any case, "_" for "-"); the response status and size
//     go into a completion record.
//
// Refused requests are answered {"error":{"code":"<reason>","message":"…"}}
// with the reason codes of record.go, never with upstream content. Those
// refused after a token verified (steps 4 and 5) are recorded in the
// tenant's log (phase decision, decision refused; queued with the next
// batch, since the refusal does not depend on it). Those refused before
// any token verified (steps 1 to 3) rest on nothing but what an anonymous
// client sent, so no tenant's log grows for them (invariant 13): they are
// counted (lockbox_gateway_unverified_refusals_total{reason}) and
// summarized once per SummaryInterval in a record of phase summary with no
// tenant, which the server files in its system log.
//
// # What the lockbox server must serve
//
// All three endpoints take Authorization: Bearer <API token of a user with
// the gateway role> and answer 401/403 JSON errors otherwise.
//
// GET /v1/revocations?after=<cursor>&since=<RFC 3339>&limit=<n> answers
//
//	200 {"items":[{"request_id":"req_…","tenant_id":"ten_…","status":"revoked",
//	               "ended_at":"2030-05-01T09:30:00Z","cursor":"c_42"}],
//	     "next":"c_42"}
//
// Items are requests that left the approved state (status revoked or
// completed: released, ticket resolved, window elapsed), across all tenants,
// in feed order, strictly after the cursor `after`. A cursor is an opaque
// string the server chooses; order must be total and gap-free — an item
// that commits late must not appear before a cursor a client already holds
// (with PostgreSQL, assign cursors at commit, such as from a sequence taken
// under the same lock that orders commits, or a log index). `since`, used
// only when the gateway has no cursor yet, asks for items that ended at or
// after that time; a server may ignore it and send more. `limit` (default
// and maximum the server's choice, such as 500) bounds a page. `next` is the
// cursor of the last item or, when there are none, the server's current head
// (the cursor of the newest item in the whole feed, or a cursor meaning
// "the start" when the feed is empty), so the gateway can resume from it;
// the gateway pages until a page is empty, and is "synced" from then on.
//
// GET /v1/revocations/stream?after=<cursor> (also given as the Last-Event-ID
// header; `since` as above when the gateway has no cursor) answers 200 Content-Type: text/event-stream and stays open. It
// first sends every item after the cursor, then each new item as it commits:
//
//	id: c_43
//	event: revocation
//	data: {"request_id":"req_…","tenant_id":"ten_…","status":"revoked","ended_at":"…","cursor":"c_43"}
//
// (a blank line ends each event), and a comment line ": keepalive" at least
// every 15 s, without which the gateway reconnects after 45 s of silence. A
// server without the stream answers 404 and the gateway polls the list
// endpoint every 2 s instead.
//
// POST /v1/access-events with Content-Type: application/json and body
//
//	{"records":[<AccessRecord>, …]}
//
// (at most 256 records per request by default; AccessRecord documents the
// fields) must append one event per record to the log of the record's
// tenant_id (the system log when tenant_id is empty or names no tenant),
// all records of the
// request in one transaction, and answer
//
//	200 {"recorded": <number of records in the request>}
//
// only after that commit. Record ids are unique: a record whose id is already
// in the log counts as recorded and is not appended again — shipping is
// at-least-once, since a batch whose answer was lost is sent again. A server
// must not reject a well-formed record for its content (an unknown tenant is
// still an access attempt to record), with one exception: a record for an
// existing tenant must name a request (request_id, from a verified token) —
// of that tenant, unless it is a refusal — and the lockbox server answers
// 422 to a batch holding one that does not, so that no gateway account can
// grow a tenant's log with anonymous records. Any answer but 200 makes the
// gateway keep the batch in its spool and send it again later, in order.
//
// The JWK Set the gateway verifies with is GET <server>/.well-known/jwks.json
// (package grant).
package gateway
