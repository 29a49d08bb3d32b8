package lockbox

import (
	"testing"

	"github.com/pquerna/otp"
)

func TestOTPAuthURLIsWhatAuthenticatorsRead(t *testing.T) {
	u := otpauthURL("alice+ops@customer.example", "JBSWY3DPEHPK3PXP")
	k, err := otp.NewKeyFromURL(u)
	if err != nil {
		t.Fatal(err)
	}
	if k.Secret() != "JBSWY3DPEHPK3PXP" || k.Issuer() != "lockbox" || k.AccountName() != "alice+ops@customer.example" || k.Period() != 30 {
		t.Errorf("%s reads as secret %q issuer %q account %q period %d", u, k.Secret(), k.Issuer(), k.AccountName(), k.Period())
	}
}
