package fence_test

import (
	"net/url"
	"testing"

	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/internal/stampvectors"
)

// TestStampVectors holds the fence to the shared owner-stamp vectors,
// whose stamps were computed apart from this code, and which every edge
// target's tests read too.
func TestStampVectors(t *testing.T) {
	vf, err := stampvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vf.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			p, err := fence.New(vf.Configs[v.Config].Fence())
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.ParseRequestURI(v.URL)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Identity(v.Header(), u); got != v.Identity {
				t.Errorf("identity %q, want %q", got, v.Identity)
			}
			if got := fence.OwnerStamp([]byte(vf.Key), v.Identity); got != v.Stamp {
				t.Errorf("stamp %s, want %s", got, v.Stamp)
			}
		})
	}
}
