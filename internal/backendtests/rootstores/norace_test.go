//go:build !race

package rootstores

// raceDetector reports a test binary built with -race.
const raceDetector = false
