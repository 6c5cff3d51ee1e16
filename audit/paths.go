package audit

import (
	"path/filepath"
	"strings"
)

// Within says whether path, as text, is dir or below it.
func Within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// ResolvesWithin says whether path is under dir once the links of both
// are followed. The readers check it before they open a file their input
// names (an include, a snippet) or a directory holds: a text check alone
// lets a link lead out of the paths the audit was given.
func ResolvesWithin(dir, path string) bool {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false
	}
	real, err := filepath.EvalSymlinks(path)
	return err == nil && Within(root, real)
}
