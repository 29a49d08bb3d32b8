//go:build race

package httpapi_test

// raceEnabled is true when the tests run with the race detector, which
// makes the longest tests several times slower.
const raceEnabled = true
