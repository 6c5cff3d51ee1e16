package terraform

import (
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
)

// deepError is the error of a file nested too deeply: its file, the line
// where it went too deep, and no word of it.
var deepError = regexp.MustCompile(`^m/main\.tf:[1-9][0-9]*: nested deeper than 100 levels of blocks, brackets and interpolations, or 1000 operators, attributes and indexes, so not read$`)

// allocated returns the bytes read allocates, and what it returns.
func allocated(data string) (uint64, *audit.Config) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cfg := Read([]audit.File{{Path: "m/main.tf", Data: []byte(data)}})
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, cfg
}

// Nesting deeper than the parser's stack and the tree's paths can bear
// is refused, at the line where it goes too deep, without quoting the
// file; every kind of nesting HCL recurses on counts.
func TestDeepNesting(t *testing.T) {
	const n = 100000
	cases := map[string]string{
		"brackets":                strings.Repeat("[", n) + strings.Repeat("]", n),
		"braces":                  strings.Repeat("{a=", n) + "1" + strings.Repeat("}", n),
		"parentheses":             strings.Repeat("(", n) + "1" + strings.Repeat(")", n),
		"nots":                    strings.Repeat("!", n) + "true",
		"conditionals":            strings.Repeat("true ? 1 : ", n) + "2",
		"indexes":                 "[1]" + strings.Repeat("[0]", n),
		"splats":                  "var.a" + strings.Repeat("[*].a", n),
		"interpolations":          strings.Repeat(`"${`, n) + "1" + strings.Repeat(`}"`, n),
		"newlines in parentheses": "(" + strings.Repeat("!\n", n) + "true)",
	}
	for name, expr := range cases {
		t.Run(name, func(t *testing.T) {
			data := "resource \"a\" \"b\" {\n  secret_value = " + expr + "\n}\n"
			bytes, cfg := allocated(data)
			if len(cfg.Errors) != 1 {
				t.Fatalf("errors %v, want one", cfg.Errors)
			}
			msg := cfg.Errors[0].Error()
			if !deepError.MatchString(msg) || strings.Contains(msg, "secret") {
				t.Errorf("error %q", msg)
			}
			// Only HCL's lexer runs, which keeps some hundred bytes a
			// token, where the parse crashed or took gigabytes.
			if bytes > 1024*uint64(len(data)) {
				t.Errorf("reading %d bytes allocated %d", len(data), bytes)
			}
		})
	}
}

// A file nested as deep as allowed all through is read in time and memory
// proportional to its size: 180 KB of it took 71 s and 5.5 GB when every
// level's path was as long as the levels above it, unbounded. Twice the
// file costs about twice, not four times.
func TestNestedFileIsLinear(t *testing.T) {
	nested := func(size int) string {
		var b strings.Builder
		b.WriteString("resource \"aws_cloudfront_cache_policy\" \"p\" {\n")
		for i := 0; b.Len() < size; i++ {
			fmt.Fprintf(&b, "  a%d = %s1%s\n", i, strings.Repeat("[", maxNesting-2), strings.Repeat("]", maxNesting-2))
		}
		b.WriteString("}\n")
		return b.String()
	}
	half, whole := nested(90_000), nested(180_000)
	halfBytes, cfg := allocated(half)
	wholeBytes, cfg2 := allocated(whole)
	if len(cfg.Errors) > 0 || len(cfg2.Errors) > 0 {
		t.Fatalf("errors %v %v", cfg.Errors, cfg2.Errors)
	}
	t.Logf("%d bytes read, %d allocated; %d bytes read, %d allocated", len(half), halfBytes, len(whole), wholeBytes)
	// Slices grow by a quarter at a time, so twice is 2.5 times at worst.
	if ratio := float64(wholeBytes) / float64(halfBytes); ratio > 3 {
		t.Errorf("twice the file allocated %.1f times as much", ratio)
	}
	if wholeBytes > 2048*uint64(len(whole)) {
		t.Errorf("reading %d bytes allocated %d", len(whole), wholeBytes)
	}
}
