package load

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
)

// Every check has, for every vendor it names a fix for, a minimal bad
// configuration that yields it and a good one that does not, under
// audit/<vendor>/testdata/<check-id>/{bad,good}.<ext>. docs/audit.md and
// `cachefence audit explain` show the same files.
func TestExamples(t *testing.T) {
	for _, c := range audit.Checks {
		for _, rule := range c.Vendors {
			t.Run(c.ID+"/"+rule.Vendor, func(t *testing.T) {
				dir := filepath.Join("..", rule.Vendor, "testdata", c.ID)
				for _, side := range []string{"bad", "good"} {
					paths, _ := filepath.Glob(filepath.Join(dir, side+".*"))
					if len(paths) != 1 {
						t.Errorf("want one %s example in %s, have %d", side, dir, len(paths))
						continue
					}
					checkExample(t, c.ID, rule.Vendor, paths[0], side == "bad")
				}
			})
		}
	}
}

func checkExample(t *testing.T, id, vendor, path string, bad bool) {
	t.Helper()
	cfg := Paths([]string{path}, "")
	r := audit.NewReport(cfg, nil)
	if len(r.Errors) > 0 || len(r.Skipped) > 0 || r.Scopes == 0 {
		t.Errorf("%s: not read whole: errors %q, skipped %v, %d scopes", path, r.Errors, r.Skipped, r.Scopes)
	}
	var got []string
	for _, f := range r.Findings {
		if f.Vendor != vendor {
			t.Errorf("%s: finding %s is of vendor %q", path, f.ID, f.Vendor)
		}
		got = append(got, f.ID)
	}
	if has := slices.Contains(got, id); has != bad {
		t.Errorf("%s: findings %v; want %s: %v", path, got, id, bad)
	}
}

// No example lies in a directory no check has, or for a vendor its check
// does not name: those would be shown nowhere.
func TestExamplesBelongToChecks(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "*", "testdata", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		base := filepath.Base(path)
		if !strings.HasPrefix(base, "bad.") && !strings.HasPrefix(base, "good.") {
			continue
		}
		if info, err := os.Stat(path); err != nil || info.IsDir() {
			continue
		}
		id := filepath.Base(filepath.Dir(path))
		vendor := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(path))))
		i := slices.IndexFunc(audit.Checks, func(c *audit.Check) bool { return c.ID == id })
		if i < 0 {
			t.Errorf("%s: no check %q", path, id)
			continue
		}
		if _, ok := audit.Checks[i].Rule(vendor); !ok {
			t.Errorf("%s: check %s names no fix for %s", path, id, vendor)
		}
	}
}
