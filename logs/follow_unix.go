//go:build unix

package logs

import (
	"os"
	"syscall"
)

// linked reports whether f still has a name: a rotated file that was
// removed (rotate N, or compressed) is let go, so that its space is freed.
func linked(f *os.File) bool {
	info, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	return !ok || st.Nlink > 0
}
