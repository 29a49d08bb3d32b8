// Package bench holds lockbox's benchmarks, whose figures go into the
// project's notes: `make bench` or
//
//	go test -run '^$' -bench . ./bench/
//
// Each benchmark that states a target runs its baseline in the same run, so
// the ratio is measured on the same machine under the same load.
package bench
