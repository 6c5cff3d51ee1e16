package logs

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// Each parser is fuzzed through Read and the Checker: no input may panic,
// every record must have a path, and nothing a finding prints may carry
// a control character or invalid UTF-8. The seed corpora in
// testdata/fuzz/<Name>/ are the fixtures' lines and their near misses.

func fuzzFormat(f *testing.F, o Options) {
	ch, err := NewChecker(testConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Read(bytes.NewReader(data), o, func(_ Format, r *Record) {
			if !strings.HasPrefix(r.Path, "/") {
				t.Fatalf("record without a path: %+v", r)
			}
			ch.Check("fuzz", r, func(f *Finding) {
				for _, s := range append([]string{f.Host, f.Path, f.CacheWord, f.Owner, f.Requester}, f.Why...) {
					if !printableOK(s) {
						t.Fatalf("a finding prints %q", s)
					}
				}
				// Identities show as names or digests, never as what
				// the log held.
				for _, who := range []string{f.Owner, f.Requester} {
					if who != "" && !identityLabel(who) {
						t.Fatalf("a finding shows %q as an identity: %s", who, f)
					}
				}
				// Path parameters show as the redaction's ";REDACTED"
				// and nothing else.
				if strings.Contains(strings.ReplaceAll(f.Path, ";REDACTED", ""), ";") {
					t.Fatalf("a finding shows what it must not: %s", f)
				}
			})
		})
		if err != nil && o.Format != "" {
			// With the format given, only gzip can fail.
			if !bytes.HasPrefix(data, gzipMagic) {
				t.Fatalf("error on plain input: %v", err)
			}
		}
	})
}

// identityLabel says whether s is how findings may show an identity: a
// test account, anonymous, or a digest.
func identityLabel(s string) bool {
	switch s {
	case "alice", "bob", "anonymous", "a malformed stamp":
		return true
	}
	return wellFormedStamp(s) || strings.HasPrefix(s, "id:")
}

func printableOK(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func FuzzCloudFront(f *testing.F) { fuzzFormat(f, Options{Format: CloudFront}) }
func FuzzCloudFrontRealtime(f *testing.F) {
	fuzzFormat(f, Options{Format: CloudFrontRealtime, Fields: realtimeFields})
}
func FuzzCloudflare(f *testing.F)  { fuzzFormat(f, Options{Format: Cloudflare}) }
func FuzzFastly(f *testing.F)      { fuzzFormat(f, Options{Format: Fastly}) }
func FuzzAkamai(f *testing.F)      { fuzzFormat(f, Options{Format: Akamai}) }
func FuzzCloudCDN(f *testing.F)    { fuzzFormat(f, Options{Format: CloudCDN}) }
func FuzzNginx(f *testing.F)       { fuzzFormat(f, Options{Format: Nginx}) }
func FuzzVarnishncsa(f *testing.F) { fuzzFormat(f, Options{Format: Varnishncsa}) }

// FuzzDetect reads with the format told from the input, as --format auto
// does.
func FuzzDetect(f *testing.F) { fuzzFormat(f, Options{}) }

// FuzzJSON holds the JSON reader to encoding/json: it accepts exactly the
// objects encoding/json accepts, and reads the same top-level string
// values.
func FuzzJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		got := map[string]string{}
		err := members(s, func(key, v string) {
			if strings.HasPrefix(v, `"`) {
				got[key] = unquote(v)
			}
		})
		var want map[string]any
		stdErr := json.Unmarshal([]byte(s), &want)
		if (err == nil) != (stdErr == nil) {
			// encoding/json reads "null" as a nil map, not an error.
			if !(stdErr == nil && want == nil) {
				t.Fatalf("members: %v, encoding/json: %v", err, stdErr)
			}
		}
		if err != nil || !utf8.ValidString(s) {
			return
		}
		for k, v := range want {
			if str, ok := v.(string); ok && got[k] != str {
				// A later duplicate key wins in both.
				t.Fatalf("key %q: %q, encoding/json %q", k, got[k], str)
			}
		}
	})
}
