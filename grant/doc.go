// Package grant issues and verifies lockbox grant tokens (docs/design.md §5): the
// short-lived, Ed25519-signed JWTs that let an engineer use approved access
// through an enforcement point, the signing keys that rotate under them, and
// the JWK Set that publishes their public halves.
//
// The package keeps invariant 1 on its own side of the line: NewClaims (and
// so Issuer.Issue) refuses a request that is not approved or a time outside
// its window, and caps exp at the window end, so no code path here can mint a
// token that outlives the access the customer granted. The service still
// checks who the caller is; this package cannot know.
//
// Verification is deliberately narrow: only alg EdDSA, a kid that names a
// published key, the exact issuer, the lockbox-gateway audience, every claim
// present, exp checked with no leeway (a token is never accepted after its
// exp, so never after the window) and nbf/iat with a small configurable
// clock skew. Errors are typed (ErrExpired, ErrUnknownKey, …) so an
// enforcement point can tell the engineer why it refused.
//
// # Wire formats
//
// The JWK Set served at GET <issuer>/.well-known/jwks.json:
//
//	{"keys":[{"kty":"OKP","crv":"Ed25519","x":"<base64url public key>",
//	          "kid":"<RFC 7638 thumbprint>","alg":"EdDSA","use":"sig"}]}
//
// A token's protected header is {"alg":"EdDSA","kid":"<kid>","typ":"JWT"}
// and its claims:
//
//	{"iss":"https://lockbox.example.com","sub":"usr_…","aud":"lockbox-gateway",
//	 "iat":1700000000,"nbf":1700000000,"exp":1700000900,"jti":"grt_…",
//	 "tenant":"ten_…","request":"req_…","ticket":"tkt_…",
//	 "resources":["mailbox:alice"],"access_level":"read"}
//
// Times are integer seconds since the epoch; exp is rounded down so that it
// never exceeds the window end.
//
// # Keys
//
// A Keyring holds an active key (signs), a next key (published ahead of its
// first use) and retired keys (published until every token they signed has
// expired: retired_at + the ring's maximum token TTL). kid is the RFC 7638
// thumbprint of the key. At rest the ring lives in a KeyStore: FileStore (a
// 0600 JSON file, refused when group or others can read it) or
// EncryptedStore (AES-256-GCM under a 32-byte key-encryption key, in a
// database Blob with compare-and-set versions, for replicas).
//
// # Wiring in the server
//
//	store := &grant.FileStore{Path: filepath.Join(dataDir, "grant-keys.json")}
//	// or: store, err := grant.NewEncryptedStore(db /* grant.Blob */, "", kek)
//	ring, err := grant.LoadOrCreate(ctx, store, time.Now(), grant.DefaultMaxTTL)
//	go grant.Maintain(ctx, store, ring, 24*time.Hour, time.Minute, logger)
//	issuer := &grant.Issuer{Keys: ring, URL: publicURL} // TTL 0: 15 m
//	mux.Handle("GET /.well-known/jwks.json", grant.JWKSHandler(ring))
//	// POST /v1/requests/{id}/token, after checking the caller is the requester:
//	token, expiresAt, err := issuer.Issue(req, now) // lockbox.ErrConflict outside the window
//
// Enforcement points verify with NewVerifier over NewRemoteKeys (the JWKS
// URL) or, in the server's own process, over the *Keyring itself.
package grant
