package unixtime

import (
	"math"
	"testing"
	"time"
)

func TestNano(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		in   time.Time
		want int64
	}{
		{now, now.UnixNano()},
		{time.Time{}, math.MinInt64},
		{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64},
		{time.Unix(0, 0), 0},
	} {
		if got := Nano(tc.in); got != tc.want {
			t.Errorf("Nano(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
