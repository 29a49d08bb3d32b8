package lockbox_test

import (
	"strings"
	"testing"

	"github.com/lockbox-dev/lockbox"
)

func TestPasswordHashing(t *testing.T) {
	h := lockbox.HashPassword("correct horse battery staple", lockbox.DefaultArgon2)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not argon2id with the default parameters", h)
	}
	if !lockbox.CheckPassword("correct horse battery staple", h) {
		t.Fatal("the right password was refused")
	}
	for _, wrong := range []string{"correct horse battery stapl", "", "Correct horse battery staple"} {
		if lockbox.CheckPassword(wrong, h) {
			t.Fatalf("%q was accepted", wrong)
		}
	}
	if h1, h2 := lockbox.HashPassword("x", lockbox.DefaultArgon2), lockbox.HashPassword("x", lockbox.DefaultArgon2); h1 == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=1,t=1,p=1$$", "plain", "$bcrypt$..."} {
		if lockbox.CheckPassword("x", bad) {
			t.Fatalf("malformed hash %q accepted", bad)
		}
	}
}
