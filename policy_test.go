package lockbox_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

func TestBuiltinPolicy(t *testing.T) {
	tenant := &lockbox.Tenant{ID: "t", Lockbox: lockbox.DefaultLockboxSettings()}
	plain := &lockbox.User{ID: "e", Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}}
	isolated := &lockbox.User{ID: "i", Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}, Isolated: true}
	cases := []struct {
		name      string
		user      *lockbox.User
		mfa       bool
		level     lockbox.AccessLevel
		duration  time.Duration
		allowed   bool
		reasonHas string
	}{
		{"MFA engineer reads", plain, true, lockbox.LevelRead, time.Hour, true, ""},
		{"no MFA, not isolated", plain, false, lockbox.LevelRead, time.Hour, false, "MFA"},
		{"isolated without MFA", isolated, false, lockbox.LevelWrite, time.Hour, true, ""},
		{"admin level, not isolated", plain, true, lockbox.LevelAdmin, time.Hour, false, "isolated"},
		{"admin level, isolated", isolated, true, lockbox.LevelAdmin, time.Hour, true, ""},
		{"longer than the tenant allows is capped", plain, true, lockbox.LevelRead, 24 * time.Hour, true, "capped"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := lockbox.BuiltinPolicy{InternalGroup: "support-leads"}.Evaluate(context.Background(), lockbox.PolicyInput{
				Requester: c.user, MFA: c.mfa, Tenant: tenant, AccessLevel: c.level, Duration: lockbox.Duration(c.duration),
			})
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != c.allowed {
				t.Fatalf("allowed = %v, want %v (%v)", d.Allowed, c.allowed, d.Reasons)
			}
			if c.reasonHas != "" && !strings.Contains(strings.Join(d.Reasons, " "), c.reasonHas) {
				t.Fatalf("reasons %v do not mention %q", d.Reasons, c.reasonHas)
			}
			if d.MaxDuration != tenant.Lockbox.MaxAccessDuration {
				t.Fatalf("max duration %s", d.MaxDuration)
			}
			if !slices.Equal(d.InternalApprovals, []lockbox.GroupApprovals{{Group: "support-leads", Count: 1}}) {
				t.Fatalf("internal approvals %v", d.InternalApprovals)
			}
			if len(d.Policies) == 0 {
				t.Fatal("the decision names no policy")
			}
		})
	}
	d, _ := lockbox.BuiltinPolicy{}.Evaluate(context.Background(), lockbox.PolicyInput{Requester: plain, MFA: true, Tenant: tenant, AccessLevel: lockbox.LevelRead, Duration: lockbox.Duration(time.Hour)})
	if len(d.InternalApprovals) != 0 {
		t.Fatalf("without an internal group the policy asked for %v", d.InternalApprovals)
	}
}

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
	if lockbox.HashPassword("x", lockbox.DefaultArgon2) == lockbox.HashPassword("x", lockbox.DefaultArgon2) {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=1,t=1,p=1$$", "plain", "$bcrypt$..."} {
		if lockbox.CheckPassword("x", bad) {
			t.Fatalf("malformed hash %q accepted", bad)
		}
	}
}
