package fence

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestIdentity(t *testing.T) {
	p := newPolicy(t, Config{IgnoreCookies: []string{"_ga*"}})
	root := &url.URL{Path: "/"}
	same := []http.Header{
		{"Cookie": {"sid=abc; theme=dark"}},
		{"Cookie": {"theme=dark; _ga=GA1.2; sid=abc"}}, // order and ignored cookies do not matter
		{"Cookie": {"theme=dark", "sid=abc"}},          // nor how the pairs are split over lines
	}
	for i, h := range same {
		if got, want := p.Identity(h, root), p.Identity(same[0], root); got != want {
			t.Errorf("case %d: identity differs from case 0", i)
		}
	}
	different := []http.Header{
		{},
		{"Cookie": {"sid=abd; theme=dark"}},
		{"Cookie": {"sid=abc"}},
		{"Cookie": {"sid=abc; theme=dark"}, "Authorization": {"Bearer t"}},
		{"Authorization": {""}},
		{"X-Api-Key": {"k1"}},
		{"X-Api-Key": {"k2"}},
	}
	seen := map[string]int{p.Identity(same[0], root): -1}
	for i, h := range different {
		id := p.Identity(h, root)
		if j, dup := seen[id]; dup {
			t.Errorf("case %d has the same identity as case %d", i, j)
		}
		seen[id] = i
	}
	// Credentials in the URL are part of the identity too.
	for i, target := range []string{"/?access_token=a", "/?access_token=b", "/cart;jsessionid=A"} {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			t.Fatal(err)
		}
		id := p.Identity(http.Header{}, u)
		if j, dup := seen[id]; dup {
			t.Errorf("URL %q has the same identity as case %d", target, j)
		}
		seen[id] = 100 + i
	}
}

func TestOwnerStamp(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	p := newPolicy(t, Config{})
	root := &url.URL{Path: "/"}
	alice := p.Identity(http.Header{"Cookie": {"sid=alice"}}, root)
	bob := p.Identity(http.Header{"Cookie": {"sid=bob"}}, root)
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
