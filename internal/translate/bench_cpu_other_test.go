//go:build !linux

package translate_test

import "time"

var epoch = time.Now()

// threadCPU falls back to wall time where the thread CPU clock is not
// read.
func threadCPU() time.Duration { return time.Since(epoch) }
