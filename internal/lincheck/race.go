//go:build race

package lincheck

// raceDetector reports a test binary built with -race.
const raceDetector = true
