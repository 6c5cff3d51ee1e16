package vcl

import (
	"testing"

	"github.com/cachefence/cachefence/audit"
)

// Parse never panics, and what it parses can be analysed in both
// dialects.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		Flatten("f.vcl", file)
		audit.Run(Scopes("f.vcl", file, Varnish))
		audit.Run(Scopes("f.vcl", file, Fastly))
	})
}
