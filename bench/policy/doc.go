// Package policy benchmarks lockbox's JIT decision: a 50-policy Cedar set
// (package cedar) next to OPA evaluating the same policy in Rego, in the
// same run. It is a module of its own, so OPA's dependencies stay out of
// lockbox's go.mod; `make test` vets it and runs it once so it keeps
// building. The figures:
//
//	cd bench/policy && go test -run '^$' -bench . -benchtime 20000x
//
// TestEquivalent checks over a grid of requests that the Rego module
// decides exactly as the Cedar set does, so both engines do the same work.
package policy
