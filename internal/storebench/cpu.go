package storebench

import "testing"

// MeasureCPU starts measuring the processor time the process uses, and
// returns the function that reports it, per iteration of b's loop, as
// cpu-ns/op: call it after the loop. Where the platform cannot tell, it
// reports nothing. Processor time tells a cost apart from the wait for a
// busy machine's cores, which wall time includes.
func MeasureCPU(b *testing.B) (report func()) {
	start := cpuTime()
	return func() {
		if used := cpuTime() - start; used > 0 {
			b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}
