// Package unixtime converts expiry times to Unix nanoseconds for stores
// that keep them as integers.
package unixtime

import (
	"math"
	"time"
)

// The times that Unix nanoseconds can represent.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// Nano returns t in Unix nanoseconds, clamped to the int64 range: the zero
// Time is long expired, and a deadline centuries ahead never comes.
func Nano(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}
