package probe

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/cachestatus"
	"github.com/cachefence/cachefence/internal/storabletable"
)

// The probe gives the fence's verdict on a public page that no cache
// signal speaks for: not_cacheable exactly where a shared cache may not
// store it, with the fence's words, and where one may but must ask the
// origin on every reuse.
func TestPublicVerdictIsTheFences(t *testing.T) {
	rows, err := storabletable.Rows()
	if err != nil {
		t.Fatal(err)
	}
	var obs []*observation
	for i, row := range rows {
		obs = append(obs, &observation{target: fmt.Sprintf("https://www.example.com/%d", i), via: viaPublic,
			status: row.Status, header: row.Header, signal: cachestatus.Signal{Verdict: cachestatus.Unknown}})
	}
	fs := findings{}
	(&Prober{}).judgePublic(fs, obs)
	for i, row := range rows {
		t.Run(row.Name, func(t *testing.T) {
			b := fs[KindNotCacheable+" "+obs[i].target]
			var evidence []string
			if b != nil {
				for e := range b.evidence {
					evidence = append(evidence, e)
				}
			}
			got := strings.Join(evidence, "\n")
			switch {
			case !row.Storable:
				if !strings.Contains(got, "at the edge: ") || !strings.Contains(got, row.Why) {
					t.Errorf("evidence %q, want the fence's verdict: %q", got, row.Why)
				}
			case row.MaxAge == 0:
				if !strings.Contains(got, "lifetime (s-maxage or max-age) is 0") {
					t.Errorf("evidence %q, want the zero shared lifetime", got)
				}
			case b != nil:
				t.Errorf("storable, but reported not cacheable: %q", got)
			}
		})
	}
}
