//go:build !linux

package fsstore

// exchanged reports false: only Linux can swap two files atomically, so
// other systems always rename.
func exchanged(tmp, path string) bool { return false }
