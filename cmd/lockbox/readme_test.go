package main

import (
	"os"
	"strings"
	"testing"

	"github.com/lockbox-dev/lockbox"
)

// TestREADMEWalkThroughIsTheDemos: the README's walk-through is exactly
// what the demo prints (which TestDemoWalkThrough runs), with placeholders
// for what changes from run to run: one walk-through, never two that drift.
func TestREADMEWalkThroughIsTheDemos(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- demo walk-through: begin -->\n```sh\n", "```\n<!-- demo walk-through: end -->"
	_, rest, ok := strings.Cut(string(readme), begin)
	block, _, ok2 := strings.Cut(rest, end)
	if !ok || !ok2 {
		t.Fatalf("README.md has no block between %q and %q", begin, end)
	}
	want := placeholderWalkThrough()
	if block != want && os.Getenv("LOCKBOX_UPDATE_README") != "" {
		updated := strings.Replace(string(readme), begin+block+end, begin+want+end, 1)
		if err := os.WriteFile("../../README.md", []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if block != want {
		t.Errorf("README.md's walk-through differs from what the demo prints (LOCKBOX_UPDATE_README=1 rewrites it); it should read:\n%s", want)
	}
}

// placeholderWalkThrough is the walk-through printDemo prints, under go
// run, with placeholders in capitals for the IDs, secrets and paths of a
// run, dedented as a README shows it.
func placeholderWalkThrough() string {
	w := &demoWorld{tenant: &lockbox.Tenant{ID: "TENANT", Name: "Contoso"}, ticket: &lockbox.Ticket{ID: "TICKET"}}
	for _, p := range []struct{ profile, email string }{
		{"alice", "alice@contoso.example"}, {"bob", "bob@contoso.example"}, {"eve", "eve@operator.example"}, {"lee", "lee@operator.example"},
	} {
		w.people = append(w.people, &demoPerson{profile: p.profile, user: &lockbox.User{Email: p.email}, secret: strings.ToUpper(p.profile) + "_SECRET"})
	}
	stack := &demoStack{gatewayURL: "http://127.0.0.1:8081", mailboxURL: "MAILBOX_URL", routesFile: "ROUTES"}
	var b strings.Builder
	printDemoAs(&b, "lockbox", "http://127.0.0.1:8080", "DATA_DIR", w, stack, true)
	_, walk, _ := strings.Cut(b.String(), "Walk the workflow in another terminal:\n\n")
	walk, _, _ = strings.Cut(walk, "\nStop the demo")
	var out strings.Builder
	for _, line := range strings.Split(strings.TrimRight(walk, "\n"), "\n") {
		out.WriteString(strings.TrimPrefix(line, "  ") + "\n")
	}
	return out.String()
}
