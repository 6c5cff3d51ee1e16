package replay

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Each variant sends exactly its headers; with the fence, every field a
// cache reads first says no-store, and Set-Cookie stays.
func TestVariantHeaders(t *testing.T) {
	for _, tc := range []struct {
		variant string
		want    http.Header
	}{
		{"set_cookie", http.Header{"Set-Cookie": {"s=u; Path=/; HttpOnly"}}},
		{"private", http.Header{"Cache-Control": {"private"}}},
		{"private_no_store", http.Header{"Cache-Control": {"private, no-store"}}},
		{"no_cache_expired", http.Header{"Cache-Control": {"no-cache"}, "Expires": {"Thu, 22 Jun 2017 00:00:00 GMT"}}},
		{"none", http.Header{}},
	} {
		t.Run(tc.variant, func(t *testing.T) {
			v := variantNamed(t, tc.variant)
			if got := v.headersFor(false, "s=u"); !equalHeaders(got, tc.want) {
				t.Errorf("as sent: %v, want %v", got, tc.want)
			}
			fenced := v.headersFor(true, "s=u")
			for name, value := range map[string]string{"Cache-Control": "private, no-store", "Surrogate-Control": "no-store",
				"Cdn-Cache-Control": "no-store", "Edge-Control": "no-store", "X-Accel-Expires": "0"} {
				if got := fenced.Get(name); got != value {
					t.Errorf("fenced %s: %q, want %q", name, got, value)
				}
			}
			if got, want := fenced.Get("Set-Cookie"), tc.want.Get("Set-Cookie"); got != want {
				t.Errorf("fenced Set-Cookie %q, want %q", got, want)
			}
			if _, had := tc.want["Expires"]; had && fenced.Get("Expires") != "0" {
				t.Errorf("fenced Expires %q, want 0", fenced.Get("Expires"))
			}
		})
	}
}

func variantNamed(t *testing.T, name string) variant {
	t.Helper()
	for _, v := range variants {
		if v.name == name {
			return v
		}
	}
	t.Fatalf("no variant %s", name)
	return variant{}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\n") != strings.Join(b[k], "\n") {
			return false
		}
	}
	return true
}

// The origin names the user whose token came in any header, finds the
// cell by header or by path, sends the cell's headers (fenced or not),
// and says when the first user's request arrived.
func TestOrigin(t *testing.T) {
	users := []user{{marker: "user-a-1", token: "tok-a"}, {marker: "user-b-2", token: "tok-b"}}
	private := variantNamed(t, "private")
	cells := map[string]*originCell{
		"cfr1": {variant: private, arrived: make(chan struct{})},
		"cfr2": {variant: private, fenced: true, arrived: make(chan struct{})},
	}
	o, err := startOrigin(users, "sess", cells, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	for _, tc := range []struct {
		name, path     string
		header         http.Header
		body, cc, cell string
	}{
		{"cookie, cell by path", "/account/cfr1", http.Header{"Cookie": {"x=1; sess=tok-a"}}, "user-a-1", "private", "cfr1"},
		{"authorization, cell by header", "/index.php", http.Header{"Authorization": {"Bearer tok-b"}, cellHeader: {"cfr2"}}, "user-b-2", "private, no-store", ""},
		{"another header", "/account/cfr1/app.css", http.Header{"X-Api-Key": {"tok-b"}}, "user-b-2", "private", ""},
		{"anonymous", "/account/cfr1", nil, anonymousMarker, "private", ""},
		{"no cell", "/", nil, "synthetic origin", "no-store", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://"+o.addr+tc.path, nil)
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(body), tc.body) || resp.Header.Get("Cache-Control") != tc.cc {
				t.Errorf("%q with Cache-Control %q, want %q and %q", body, resp.Header.Get("Cache-Control"), tc.body, tc.cc)
			}
			if tc.cell != "" {
				select {
				case <-cells[tc.cell].arrived:
				default:
					t.Errorf("%s: the first user's arrival is not signalled", tc.cell)
				}
			}
		})
	}
	select {
	case <-cells["cfr2"].arrived:
		t.Error("cfr2 signals the first user's arrival, though only the second user asked")
	default:
	}
}

// A Set-Cookie names the user it was made for, under the session
// cookie's name.
func TestOriginSetCookie(t *testing.T) {
	users := []user{{marker: "user-a-1", token: "tok-a"}}
	cells := map[string]*originCell{"cfr1": {variant: variantNamed(t, "set_cookie"), arrived: make(chan struct{})}}
	o, err := startOrigin(users, "sess", cells, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	req, _ := http.NewRequest(http.MethodGet, "http://"+o.addr+"/account/cfr1", nil)
	req.Header.Set("Authorization", "Bearer tok-a")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Set-Cookie"); got != "sess=user-a-1; Path=/; HttpOnly" {
		t.Errorf("Set-Cookie %q", got)
	}
}
