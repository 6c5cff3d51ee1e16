package fence

import (
	"net/http"
	"strings"
	"testing"
)

func TestIdentity(t *testing.T) {
	p := &Policy{IgnoreCookies: []string{"_ga*"}}
	same := []http.Header{
		{"Cookie": {"sid=abc; theme=dark"}},
		{"Cookie": {"theme=dark; _ga=GA1.2; sid=abc"}}, // order and ignored cookies do not matter
		{"Cookie": {"theme=dark", "sid=abc"}},          // nor how the pairs are split over lines
	}
	for i, h := range same {
		if got, want := p.Identity(h), p.Identity(same[0]); got != want {
			t.Errorf("case %d: identity differs from case 0", i)
		}
	}
	different := []http.Header{
		{},
		{"Cookie": {"sid=abd; theme=dark"}},
		{"Cookie": {"sid=abc"}},
		{"Cookie": {"sid=abc; theme=dark"}, "Authorization": {"Bearer t"}},
		{"Authorization": {""}},
	}
	seen := map[string]int{p.Identity(same[0]): -1}
	for i, h := range different {
		id := p.Identity(h)
		if j, dup := seen[id]; dup {
			t.Errorf("case %d has the same identity as case %d", i, j)
		}
		seen[id] = i
	}
}

func TestOwnerStamp(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	p := &Policy{}
	alice := p.Identity(http.Header{"Cookie": {"sid=alice"}})
	bob := p.Identity(http.Header{"Cookie": {"sid=bob"}})
	stamp := OwnerStamp(key, alice)
	if !strings.HasPrefix(stamp, "v1.") || strings.Contains(stamp, "alice") {
		t.Errorf("stamp %q: want a v1 digest that does not reveal the identity", stamp)
	}
	if !VerifyOwnerStamp(key, alice, stamp) {
		t.Error("alice's stamp does not verify for alice")
	}
	if VerifyOwnerStamp(key, bob, stamp) {
		t.Error("alice's stamp verifies for bob")
	}
	if VerifyOwnerStamp([]byte("another key, also 32 bytes long!"), alice, stamp) {
		t.Error("the stamp verifies under another key")
	}
}
