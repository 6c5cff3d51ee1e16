package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/catalog"
	"github.com/cachefence/cachefence/docs"
)

// explain prints the catalogue entry of id: what it means and what to do,
// and for an audit check each vendor's fix with its bad and good example,
// or only vendor's when given, so that a finding in CI can be understood
// without the web.
func explain(args []string, vendor string, out io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("explain takes one ID; known: %s", strings.Join(catalogIDs(), ", "))
	}
	e := catalog.Lookup(args[0])
	if e == nil {
		return fmt.Errorf("no check or finding %q; known: %s", args[0], strings.Join(catalogIDs(), ", "))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s, %s): %s\n\n%s\n\nWhat to do: %s\n", e.ID, e.Tool, e.Severity, e.Title, e.Meaning, e.Remediation)
	i := slices.IndexFunc(audit.Checks, func(c *audit.Check) bool { return c.ID == e.ID })
	if i < 0 {
		if vendor != "" {
			return fmt.Errorf("--vendor: %s is no audit check, so it has no vendor", e.ID)
		}
	} else if err := explainVendors(&b, audit.Checks[i], vendor); err != nil {
		return err
	}
	fmt.Fprintf(&b, "\nDocumentation: %s\n", e.DocURL())
	_, err := io.WriteString(out, b.String())
	return err
}

func explainVendors(b *strings.Builder, c *audit.Check, vendor string) error {
	var vendors []string
	for _, r := range c.Vendors {
		vendors = append(vendors, r.Vendor)
	}
	if vendor != "" && !slices.Contains(vendors, vendor) {
		return fmt.Errorf("--vendor %q: %s names a fix for %s", vendor, c.ID, strings.Join(vendors, ", "))
	}
	if c.DefendedByFence {
		b.WriteString("\nThe fence's rewrite defends the routes it covers, where the cache obeys one of its headers.\n")
	} else {
		b.WriteString("\nThe fence cannot defend it: fix it at the CDN.\n")
	}
	examples := docs.AuditExamples(c.ID)
	for _, r := range c.Vendors {
		if vendor != "" && r.Vendor != vendor {
			continue
		}
		fmt.Fprintf(b, "\n%s: %s\n  Source: %s\n", r.Vendor, r.Fix, r.Source)
		if vendor == "" {
			continue // examples for one vendor at a time: they are long
		}
		ex := examples[r.Vendor]
		for _, side := range []struct {
			name string
			ex   docs.Example
		}{{"Bad", ex.Bad}, {"Good", ex.Good}} {
			if side.ex.Path == "" {
				continue
			}
			fmt.Fprintf(b, "\n  %s (%s):\n", side.name, side.ex.Path)
			for line := range strings.Lines(side.ex.Text) {
				b.WriteString("    " + line)
			}
		}
	}
	if vendor == "" {
		b.WriteString("\nAdd --vendor for its bad and good example.\n")
	}
	return nil
}

func catalogIDs() []string {
	var ids []string
	for _, e := range catalog.All() {
		ids = append(ids, e.ID)
	}
	return ids
}
