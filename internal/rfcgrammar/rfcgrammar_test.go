package rfcgrammar

import (
	"strings"
	"testing"
)

func TestCacheControlValid(t *testing.T) {
	for line, want := range map[string]bool{
		"":                                       true,
		"public, max-age=60":                     true,
		`private="Set-Cookie, X-User", no-cache`: true,
		"s-maxage=1, stale-while-revalidate":     true,
		`max-age="60"`:                           true,
		",, no-store ,":                          true,
		"max-age=60 max-age=0":                   false,
		"max-age=abc":                            false,
		"max-age":                                false,
		"stale-if-error=soon":                    false,
		"max-age=60;x":                           false,
		`private="unterminated`:                  false,
		"a=b=c":                                  false,
	} {
		if got := CacheControlValid(line); got != want {
			t.Errorf("CacheControlValid(%q) = %v, want %v", line, got, want)
		}
	}
}

func TestDirectiveNames(t *testing.T) {
	for line, want := range map[string]string{
		"":                   "",
		"Public, MAX-AGE=60": "public max-age",
		`private="Set-Cookie, no-store", no-cache`: "private no-cache",
		`x="a,no-store"`: "x",
		",, no-store ,":  "no-store",
	} {
		if got := strings.Join(DirectiveNames(line), " "); got != want {
			t.Errorf("DirectiveNames(%q) = %q, want %q", line, got, want)
		}
	}
}
