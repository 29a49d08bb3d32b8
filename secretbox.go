package lockbox

import (
	"fmt"
	"strings"
)

// SecretBox seals the secrets the service must keep readable in the
// database — the tenants' webhook signing secrets — so that a copy of the
// database (a backup, a dump) holds none in clear. app implements it with
// the key-encryption key (LOCKBOX_SECRET_KEY or secret.key), AES-256-GCM.
// The context is bound to the sealed value as additional data, so a value
// sealed for one webhook cannot be moved to another.
type SecretBox interface {
	Seal(plaintext, context string) (string, error)
	Open(sealed, context string) (string, error)
}

// SealedPrefix starts every sealed value, so a secret stored before sealing
// existed (in clear) is told from a sealed one and sealed at its next save.
const SealedPrefix = "sealed:v1:"

// webhookSecretContext binds a webhook secret to its tenant and URL.
func webhookSecretContext(tenant TenantID, url string) string {
	return "webhook secret of tenant " + string(tenant) + " for " + url
}

// OpenWebhookSecret returns the signing secret of a tenant's webhook as
// stored: opened with box when sealed, as is when stored in clear.
func OpenWebhookSecret(box SecretBox, tenant TenantID, h Webhook) (string, error) {
	if !strings.HasPrefix(h.Secret, SealedPrefix) {
		return h.Secret, nil
	}
	if box == nil {
		return "", fmt.Errorf("the secret of webhook %s is sealed, and this process has no key to open it", h.URL)
	}
	s, err := box.Open(h.Secret, webhookSecretContext(tenant, h.URL))
	if err != nil {
		return "", fmt.Errorf("opening the secret of webhook %s (is LOCKBOX_SECRET_KEY the key it was sealed with?): %w", h.URL, err)
	}
	return s, nil
}

// sealWebhookSecrets seals, in place, every webhook secret of a tenant's
// settings not sealed yet. Without a box they stay as they are.
func sealWebhookSecrets(box SecretBox, tenant TenantID, hooks []Webhook) error {
	if box == nil {
		return nil
	}
	for i, h := range hooks {
		if h.Secret == "" || strings.HasPrefix(h.Secret, SealedPrefix) {
			continue
		}
		sealed, err := box.Seal(h.Secret, webhookSecretContext(tenant, h.URL))
		if err != nil {
			return fmt.Errorf("sealing the secret of webhook %s: %w", h.URL, err)
		}
		hooks[i].Secret = sealed
	}
	return nil
}

// openWebhookSecrets returns settings whose webhook secrets are in clear,
// for the tenant's admins, who are shown them.
func openWebhookSecrets(box SecretBox, tenant TenantID, s LockboxSettings) (LockboxSettings, error) {
	hooks := make([]Webhook, len(s.Webhooks))
	for i, h := range s.Webhooks {
		secret, err := OpenWebhookSecret(box, tenant, h)
		if err != nil {
			return s, err
		}
		h.Secret = secret
		hooks[i] = h
	}
	s.Webhooks = hooks
	return s, nil
}
