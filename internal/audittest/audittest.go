// Package audittest holds what the tests of the audit's readers share:
// reading a fixture directory as the audit is given it, and findings in
// one form that a table can hold.
package audittest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
)

// Files reads every file under dir that keep accepts; a nil keep takes
// all but the .source files that name a fixture's origin.
func Files(t testing.TB, dir string, keep func(path string) bool) []audit.File {
	t.Helper()
	if keep == nil {
		keep = func(path string) bool { return !strings.HasSuffix(path, ".source") }
	}
	var files []audit.File
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !keep(path) {
			return err
		}
		data, err := os.ReadFile(path)
		files = append(files, audit.File{Path: path, Data: data})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Findings runs the checks on cfg and returns each finding as
// "severity id file:line", file by its base name, sorted.
func Findings(cfg *audit.Config) []string {
	got := []string{}
	for _, f := range audit.Run(cfg.Scopes) {
		got = append(got, fmt.Sprintf("%s %s %s:%d", f.Severity, f.ID, filepath.Base(f.File), f.Line))
	}
	slices.Sort(got)
	return got
}

// Whole fails t unless cfg was read whole, then returns its findings.
func Whole(t testing.TB, cfg *audit.Config) []string {
	t.Helper()
	if len(cfg.Errors) > 0 || len(cfg.Skipped) > 0 {
		t.Fatalf("errors %v, skipped %v", cfg.Errors, cfg.Skipped)
	}
	return Findings(cfg)
}
