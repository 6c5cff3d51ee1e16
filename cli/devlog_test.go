package cli

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// encode runs one entry through the encoder as Caddy builds it, and returns
// the line without its leading time.
func encode(t *testing.T, level zapcore.Level, msg string, fields ...zapcore.Field) string {
	t.Helper()
	enc := new(lineEncoder).CaddyModule().New().(zapcore.Encoder)
	ent := zapcore.Entry{Level: level, Message: msg, Time: time.Date(2026, 11, 23, 10, 41, 10, 0, time.UTC)}
	buf, err := enc.EncodeEntry(ent, fields)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Free()
	out := buf.String()
	checkOneSafeLine(t, out)
	return strings.TrimPrefix(out[:len(out)-1], "10:41:10")
}

// checkOneSafeLine fails unless out is one line of printable, valid UTF-8
// whose only spaces are ASCII ones.
func checkOneSafeLine(t *testing.T, out string) {
	t.Helper()
	if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("not exactly one line: %q", out)
	}
	if !utf8.ValidString(out) {
		t.Errorf("invalid UTF-8 printed: %q", out)
	}
	for _, r := range strings.TrimSuffix(out, "\n") {
		if !unicode.IsPrint(r) {
			t.Errorf("printed %U raw: %q", r, out)
		}
	}
}

// A client chooses the path, and cache_fence logs it: whatever it holds,
// the line stays one line of plain fields. Printable text, ASCII or not,
// is left as it is.
func TestDevLineEscapesFields(t *testing.T) {
	for _, tc := range []struct {
		name, method, path, want string
	}{
		{"plain", "GET", "/account", ` GET /account 200 would-fence session_cookie`},
		{"printable non-ASCII", "GET", "/café/日本/ünï", ` GET /café/日本/ünï 200 would-fence session_cookie`},
		{"newline and a forged line", "GET", "/a\n10:41:11 GET /admin 200 shared",
			` GET /a\n10:41:11\x20GET\x20/admin\x20200\x20shared 200 would-fence session_cookie`},
		{"carriage return", "GET", "/a\rb", ` GET /a\rb 200 would-fence session_cookie`},
		{"terminal escape", "GET", "/\x1b[2J\x1b]0;title\x07", ` GET /\x1b[2J\x1b]0;title\a 200 would-fence session_cookie`},
		{"DEL and C1", "GET", "/a\x7fb\u0085c\u009bd", ` GET /a\x7fb\u0085c\u009bd 200 would-fence session_cookie`},
		{"bidi override", "GET", "/\u202egnp.exe", ` GET /\u202egnp.exe 200 would-fence session_cookie`},
		{"other format characters", "GET", "/a\u200bb\u2066c\ufeff", ` GET /a\u200bb\u2066c\ufeff 200 would-fence session_cookie`},
		{"line separator", "GET", "/a\u2028b", ` GET /a\u2028b 200 would-fence session_cookie`},
		{"invalid UTF-8", "GET", "/a\xff\xfeb\xe2\x80", ` GET /a\xff\xfeb\xe2\x80 200 would-fence session_cookie`},
		{"spaces", "GET", "/a b\tc\u00a0d\u3000e", ` GET /a\x20b\tc\u00a0d\u3000e 200 would-fence session_cookie`},
		{"a backslash stays unambiguous", "GET", `/a\x1b`, ` GET /a\\x1b 200 would-fence session_cookie`},
		{"hostile method", "G\x1bT /forged", "/", ` G\x1bT\x20/forged / 200 would-fence session_cookie`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := encode(t, zapcore.WarnLevel, "response would be fenced",
				zap.String("method", tc.method),
				zap.String("host", "shop.example\n"),
				zap.String("path", tc.path),
				zap.Int("status", 200),
				zap.String("verdict", "would-fence"),
				zap.Strings("reasons", []string{"session_cookie"}),
			)
			if got != tc.want {
				t.Errorf("printed %q\n         want %q", got, tc.want)
			}
		})
	}
}

// Entries other than verdicts print their level, message and fields: the
// fields are escaped as a verdict's are, and an array is one field.
func TestDevLineEscapesOtherEntries(t *testing.T) {
	got := encode(t, zapcore.ErrorLevel, "cache_fence failed;\nfencing the response",
		zap.String("during", "reading request"),
		zap.Error(errors.New("bad\x1b[2J value\n10:41:11 GET / 200 shared")),
		zap.Strings("list", []string{"a b", "c"}),
		zap.String("odd key\n", "v"),
	)
	want := ` ERROR cache_fence failed;\nfencing the response during=reading\x20request` +
		` error=bad\x1b[2J\x20value\n10:41:11\x20GET\x20/\x20200\x20shared list=a\x20b,c odd\x20key\n=v`
	if got != want {
		t.Errorf("printed %q\n         want %q", got, want)
	}
}
