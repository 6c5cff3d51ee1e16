package terraform

import (
	"testing"

	"github.com/cachefence/cachefence/audit"
)

// Reading a .tf file never panics, whatever HCL accepts.
func FuzzReadTF(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := Read([]audit.File{{Path: "m/main.tf", Data: data}})
		audit.Run(cfg.Scopes)
	})
}
