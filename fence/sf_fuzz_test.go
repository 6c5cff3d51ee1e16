package fence

import (
	"regexp"
	"strings"
	"testing"

	"github.com/dunglas/httpsfv"
)

// sfDifference is a deliberate difference between the fence's reading of
// an RFC 9213 targeted field and httpsfv's: a field httpsfv reads as a
// valid Dictionary keeping CDNs out, which the fence calls storing. Only
// differences of that direction, failing closed, are allowed.
type sfDifference struct {
	name, reason string
	example      []string
	// applies reports whether the difference explains the verdicts on
	// lines, which httpsfv accepted.
	applies func(lines []string) bool
}

// sfLimitNumber is a number that fills RFC 8941's bounds, at the end of
// the field (anywhere else httpsfv rejects it too).
var sfLimitNumber = regexp.MustCompile(`=-?([0-9]{15}|[0-9]{12}\.[0-9]{3})$`)

var sfDifferences = []sfDifference{
	{
		name: "rfc9651-date",
		reason: "RFC 9213 targeted fields are RFC 8941 Dictionaries, which have no Date; httpsfv parses " +
			"RFC 9651, its successor, and a CDN parsing RFC 8941 would ignore the field",
		example: []string{"no-store, expires=@1700000000"},
		applies: func(lines []string) bool {
			dates, _ := sfRFC9651Items(lines)
			return dates
		},
	},
	{
		name:    "rfc9651-display-string",
		reason:  `the same for RFC 9651's Display String (%"...")`,
		example: []string{`no-store, note=%"caf%c3%a9"`},
		applies: func(lines []string) bool {
			_, displayStrings := sfRFC9651Items(lines)
			return displayStrings
		},
	},
	{
		name: "number-at-the-bound",
		reason: "RFC 8941 allows 15 digits (12 before a decimal point, 3 after it), but httpsfv rejects " +
			"such a number unless it ends the field; the fence takes at most 14 digits anywhere",
		example: []string{"no-store, max-age=100000000000000"},
		applies: func(lines []string) bool {
			return sfLimitNumber.MatchString(strings.Join(lines, ","))
		},
	},
}

// sfRFC9651Items reports whether a field that httpsfv accepted holds a
// Date or a Display String. It reads the text, since the Dictionary keeps
// only the last value of a key ("a=@0, a"). Outside Strings and Display
// Strings, "@" only starts a Date and `%"` a Display String.
func sfRFC9651Items(lines []string) (dates, displayStrings bool) {
	v := strings.Join(lines, ",")
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '@':
			dates = true
		case strings.HasPrefix(v[i:], `%"`):
			// A Display String escapes with %xx, never with a backslash.
			displayStrings = true
			for i += 2; v[i] != '"'; i++ {
			}
		case v[i] == '"':
			for i++; v[i] != '"'; i++ {
				if v[i] == '\\' {
					i++
				}
			}
		}
	}
	return dates, displayStrings
}

// sfKeepsOut is the oracle's verdict on a Dictionary httpsfv accepted: a
// no-store or private whose value is Boolean true, parameters or not.
func sfKeepsOut(dict *httpsfv.Dictionary) bool {
	for _, name := range [...]string{"no-store", "private"} {
		if m, ok := dict.Get(name); ok {
			if i, ok := m.(httpsfv.Item); ok && i.Value == true {
				return true
			}
		}
	}
	return false
}

// sfCheck compares the fence's verdict on lines with httpsfv's and returns
// what is wrong, or "" when they agree or differ as sfDifferences allows.
func sfCheck(lines []string) string {
	storing := targetedFieldStoring(lines)
	dict, err := httpsfv.UnmarshalDictionary(lines)
	switch {
	case err != nil && !storing:
		return "httpsfv rejects it (" + err.Error() + "), but the fence says it keeps CDNs out"
	case err != nil:
		return ""
	case storing != sfKeepsOut(dict):
		return ""
	case !storing:
		return "the fence says it keeps CDNs out, but httpsfv reads no Boolean true no-store or private"
	}
	for _, d := range sfDifferences {
		if d.applies(lines) {
			return ""
		}
	}
	return "httpsfv reads a valid field keeping CDNs out, but the fence says storing, for no documented reason"
}

func TestSFDifferences(t *testing.T) {
	for _, d := range sfDifferences {
		dict, err := httpsfv.UnmarshalDictionary(d.example)
		switch {
		case err != nil || !sfKeepsOut(dict):
			t.Errorf("%s: httpsfv does not read %q as keeping CDNs out (%v): the example shows no difference", d.name, d.example, err)
		case !targetedFieldStoring(d.example):
			t.Errorf("%s: the fence reads %q as keeping CDNs out: the difference is gone", d.name, d.example)
		case !d.applies(d.example):
			t.Errorf("%s: does not apply to its own example %q", d.name, d.example)
		}
	}
}

// sfCases are targeted fields, one line each unless split by "\n", and
// the fence's verdict. The comments name what the reading before the
// fuzz target got wrong: "was keeps out" is a field it counted on though
// CDNs ignore it, "was storing" one it distrusted needlessly.
var sfCases = []struct {
	value   string
	storing bool
}{
	// The list: commas, white space, lines (RFC 8941 §4.2, §4.2.2).
	{"no-store", false},
	{" no-store", false},
	{"no-store \t", false},
	{"no-store \t,\t private", false},
	{"\tno-store", true},            // was keeps out: only SP may lead the field
	{"no-store,,private", true},     // was keeps out: an empty member
	{"no-store,", true},             // was keeps out: a trailing comma
	{",no-store", true},             // was keeps out
	{"no-store private", true},      // two members without a comma
	{"no-store\nmax-age=60", false}, // two lines
	{"max-age=60\n no-store", false},
	{"no-store\n", true},                    // was keeps out: the empty line makes a trailing comma
	{"\nno-store", true},                    // was keeps out
	{"no-store\n\nprivate", true},           // was keeps out
	{`a="x` + "\n" + `y", no-store`, false}, // was storing: a String holds the comma joining lines
	{`no-store, a="x` + "\n" + `y"`, false}, // was storing
	{`no-store, a="x\` + "\n" + `y"`, true}, // the joining comma cannot be escaped
	{"", true},
	{" ", true},

	// Keys (§4.2.3.3) and the values of no-store and private.
	{"No-Store", true},
	{"no-store, A=1", true},
	{"no-store, 1a=1", true},
	{"no-store, a_b.c*-1=1, *=2", false},
	{"no-store=?1", false},
	{"no-store=?0", true},
	{"no-store=1", true},
	{`no-store="1"`, true},
	{"no-store, no-store=?0", true}, // was keeps out: the last value counts
	{"no-store=?0, no-store", false},
	{"private", false},
	{`private="Set-Cookie"`, true},
	{`private, private="Set-Cookie"`, true}, // was keeps out
	{`private=("Set-Cookie")`, true},

	// Parameters (§4.2.3.2): ignored on a directive, but they must parse.
	{"no-store;x", false},
	{"no-store;x=1;y=?0", false},
	{"no-store; x", false},
	{"no-store=?1;x", false},
	{"no-store ;x", true},   // was keeps out: nothing may come before ";"
	{"no-store;\tx", true},  // was keeps out: only SP may follow ";"
	{"no-store;x =1", true}, // the same around "="
	{"no-store;x= 1", true},
	{"no-store;A=1", true},
	{"no-store;x=(1)", true}, // a parameter's value is a bare item

	// Inner lists (§4.2.1.2).
	{"no-store, a=(b c)", false},                        // was storing
	{"no-store, a=( b  c );d=1, e=()", false},           // was storing
	{`no-store, a=("x" 1;p 2.5 ?0 :AA==: *t);q`, false}, // was storing
	{"no-store, a=(b\tc)", true},
	{"no-store, a=(b,c)", true},
	{"no-store, a=(b", true},
	{"no-store, a=(b)c", true},
	{"no-store, a=((b))", true},

	// Numbers (§4.2.4).
	{"no-store, a=-0, b=007, c=1.5, d=-1.125", false},
	{"no-store, a=12345678901234, b=123456789012.12, c=12345678901.123", false},
	{"no-store, a=1.", true},                 // was keeps out
	{"no-store, a=1.2345", true},             // was keeps out
	{"no-store, a=1234567890123.1", true},    // was keeps out: 13 digits before the point
	{"no-store, a=1234567890123456", true},   // 16 digits
	{"no-store, a=123456789012345", true},    // 15 digits: see sfDifferences
	{"no-store, a=123456789012345, b", true}, // was keeps out: httpsfv rejects it
	{"no-store, a=123456789012.123", true},   // see sfDifferences
	{"no-store, a=-", true},
	{"no-store, a=-.5", true}, // was keeps out
	{"no-store, a=.5", true},
	{"no-store, a=1.2.3", true},
	{"no-store, a=1e3", true},

	// Strings (§4.2.5).
	{`no-store, a="", b="x \"y\" \\z"`, false},
	{`no-store, a="\x"`, true},          // was keeps out: only \" and \\ escape
	{"no-store, a=\"x\ty\"", true},      // was keeps out: a control character
	{"no-store, a=\"caf\u00e9\"", true}, // was keeps out
	{"no-store, a=\"x\x7f\"", true},     // was keeps out
	{`no-store, a="x`, true},

	// Tokens (§4.2.6).
	{"no-store, a=B, b=*c, c=d:e/f!#$%&'*+-.^_`|~1", false},
	{"no-store, a=b@c", true},
	{"no-store, a=b(c", true},
	{"no-store, a=_b", true},

	// Byte sequences (§4.2.7).
	{"no-store, a=::, b=:YWJj:, c=:YWI=:, d=:YQ==:, e=:+/8=:", false},
	{"no-store, a=:YQ:", true},       // was keeps out; unpadded: RFC 8941 allows it, httpsfv does not
	{"no-store, a=:YWJj=:", true},    // was keeps out
	{"no-store, a=:Y===:", true},     // was keeps out
	{"no-store, a=:YQ==YQ==:", true}, // was keeps out
	{"no-store, a=:a*b=:", true},     // was keeps out
	{"no-store, a=:YWJj", true},

	// Booleans (§4.2.8), and RFC 9651's items, not RFC 8941's.
	{"no-store, a=?0, b=?1", false},
	{"no-store, a=?2", true},
	{"no-store, a=?", true},
	{"no-store, a=?10", true},
	{"no-store, a=@1700000000", true},
	{`no-store, a=%"x"`, true},
}

func TestTargetedFieldSF(t *testing.T) {
	for _, tc := range sfCases {
		lines := strings.Split(tc.value, "\n")
		if got := targetedFieldStoring(lines); got != tc.storing {
			t.Errorf("targetedFieldStoring(%q) = %v, want %v", lines, got, tc.storing)
		}
		if problem := sfCheck(lines); problem != "" {
			t.Errorf("%q: %s", lines, problem)
		}
	}
}

// FuzzTargetedFieldSF holds the fence's reading of RFC 9213 targeted
// fields to httpsfv, an RFC 8941 parser (RFC 9651 in fact), as oracle. The
// field is given as lines joined by "\n". Where httpsfv rejects the field,
// CDNs ignore it (RFC 9213 §2.1), so the fence must call it storing; where
// httpsfv accepts it, the fence must say it keeps CDNs out exactly when
// no-store or private is Boolean true, but for the fail-closed
// differences of sfDifferences.
//
// The seeds in testdata/fuzz/FuzzTargetedFieldSF hold every input that
// ever failed (old-*: the reading before this target, whose errors the
// sfCases comments name; oracle-*: this test's own mistakes), and the
// documented differences; the table cases are added here so that
// `go test` runs them.
func FuzzTargetedFieldSF(f *testing.F) {
	for _, tc := range sfCases {
		f.Add(tc.value)
	}
	for _, d := range sfDifferences {
		f.Add(strings.Join(d.example, "\n"))
	}
	f.Fuzz(func(t *testing.T, value string) {
		lines := strings.Split(value, "\n")
		if problem := sfCheck(lines); problem != "" {
			t.Errorf("%q: %s", lines, problem)
		}
	})
}

// The targeted field is judged on every response that Cache-Control
// already fences, so reading one must not allocate.
func TestTargetedFieldAllocations(t *testing.T) {
	for _, tc := range sfCases {
		lines := strings.Split(tc.value, "\n")
		if n := testing.AllocsPerRun(10, func() { targetedFieldStoring(lines) }); n != 0 {
			t.Errorf("targetedFieldStoring(%q): %v allocations, want 0", lines, n)
		}
	}
}

func BenchmarkTargetedFieldStoring(b *testing.B) {
	for _, bc := range []struct {
		name  string
		lines []string
	}{
		{"no_store", []string{"no-store"}},
		{"max_age", []string{"max-age=600"}},
		{"mixed", []string{`private, no-store, max-age=0;x="y", a=:YWJj:`}},
		{"two_lines", []string{"max-age=600", "no-store"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				targetedFieldStoring(bc.lines)
			}
		})
	}
}
