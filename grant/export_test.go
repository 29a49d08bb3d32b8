package grant

import "crypto/ed25519"

// ActivePrivate exposes the active private key to the black-box tests that
// forge tokens by hand; nothing outside tests can reach it.
func ActivePrivate(r *Keyring) ed25519.PrivateKey {
	var out ed25519.PrivateKey
	r.Active().priv.use(func(k ed25519.PrivateKey) { out = k })
	return out
}
