package nginx

import (
	"testing"

	"github.com/cachefence/cachefence/audit"
)

// Parse never panics, and what it parses can be audited.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, err := Parse("f.conf", data)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		cfg := &audit.Config{}
		auditTree(ds, cfg)
		audit.Run(cfg.Scopes)
	})
}
