package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lockbox-dev/lockbox"
)

// The suite is only as good as its comparison: check that equal sees what
// it must and ignores what it may.
func TestDiff(t *testing.T) {
	u := newOperator("eve", at(1))
	for _, tc := range []struct {
		name   string
		change func(u *lockbox.User)
		want   string // "" when equal
	}{
		{"same", func(*lockbox.User) {}, ""},
		{"secret field", func(u *lockbox.User) { u.TOTPLastStep++ }, "TOTPLastStep:"},
		{"slice element", func(u *lockbox.User) { u.Groups = []string{"support-leads", "other"} }, `"other"`},
		{"nil pointer", func(u *lockbox.User) { u.DeletedAt = ptr(at(2)) }, "DeletedAt:"},
		{"instant", func(u *lockbox.User) { u.CreatedAt = u.CreatedAt.Add(time.Microsecond) }, "CreatedAt:"},
		{"zone", func(u *lockbox.User) { u.CreatedAt = u.CreatedAt.In(time.FixedZone("X", 3600)) }, "want UTC"},
		{"nil and empty slice", func(u *lockbox.User) { u.Roles = nil }, "Roles:"},
	} {
		got := *u
		got.Roles = append([]lockbox.Role(nil), u.Roles...)
		tc.change(&got)
		d := cmp.Diff(u, &got, equal)
		if tc.want == "" && d != "" || tc.want != "" && !strings.Contains(d, tc.want) {
			t.Errorf("%s: diff = %q, want %q", tc.name, d, tc.want)
		}
	}
	// A nil and an empty slice are the same list.
	if d := cmp.Diff([]string(nil), []string{}, equal); d != "" {
		t.Errorf("diff of empty and nil slices = %q", d)
	}
}
