package cli

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"

	"github.com/cachefence/cachefence/caddymodule"
)

func init() {
	caddy.RegisterModule(new(lineEncoder))
}

// fenceLogger is the name of cache_fence's logger, as Caddy derives it from
// the module ID.
const fenceLogger = "http.handlers.cache_fence"

// devLogging sends cache_fence's entries to stdout, one readable line each,
// and keeps everything else on the default log at INFO, with the
// credentials of h's fence hidden.
func devLogging(h caddymodule.Handler) *caddy.Logging {
	def := defaultLog(zapcore.InfoLevel, h)
	def.Exclude = []string{fenceLogger}
	return &caddy.Logging{Logs: map[string]*caddy.CustomLog{
		"default": def,
		"cache_fence_dev": {
			BaseLog: caddy.BaseLog{
				Level:      "DEBUG",
				WriterRaw:  json.RawMessage(`{"output":"stdout"}`),
				EncoderRaw: json.RawMessage(`{"format":"cache_fence_line"}`),
			},
			Include: []string{fenceLogger},
		},
	}}
}

// lineEncoder is a log encoder (caddy.logging.encoders.cache_fence_line)
// that prints cache_fence's per-response entries as one line:
//
//	10:04:05 GET /account 200 would-fence session_cookie private_path
//
// Other entries print their time, level, message and fields.
type lineEncoder struct {
	*zapcore.MapObjectEncoder // context fields from logger.With
}

var linePool = buffer.NewPool()

// CaddyModule returns the Caddy module information.
func (*lineEncoder) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "caddy.logging.encoders.cache_fence_line",
		New: func() caddy.Module { return &lineEncoder{zapcore.NewMapObjectEncoder()} },
	}
}

// Clone copies the encoder with its context fields.
func (e *lineEncoder) Clone() zapcore.Encoder {
	c := zapcore.NewMapObjectEncoder()
	for k, v := range e.Fields {
		c.Fields[k] = v
	}
	return &lineEncoder{c}
}

// EncodeEntry formats one entry. Every field is escaped (see appendField):
// a request path is the client's to choose, and it must not be able to
// forge a line or drive the terminal.
func (e *lineEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	all := e.Clone().(*lineEncoder)
	for _, f := range fields {
		f.AddTo(all)
	}
	m := all.Fields
	buf := linePool.Get()
	buf.AppendString(ent.Time.Format("15:04:05"))
	if verdict, ok := m["verdict"].(string); ok {
		for _, v := range []any{m["method"], m["path"], m["status"], verdict} {
			buf.AppendByte(' ')
			appendField(buf, v)
		}
		if reasons, ok := m["reasons"].([]any); ok {
			for _, r := range reasons {
				buf.AppendByte(' ')
				appendField(buf, r)
			}
		}
	} else {
		buf.AppendString(" " + strings.ToUpper(ent.Level.String()) + " ")
		appendEscaped(buf, ent.Message, false)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			buf.AppendByte(' ')
			appendEscaped(buf, k, true)
			buf.AppendByte('=')
			appendField(buf, m[k])
		}
	}
	buf.AppendByte('\n')
	return buf, nil
}

// appendField appends v as one space-free field of the line. An array, such
// as a list of reasons, is joined with commas.
func appendField(buf *buffer.Buffer, v any) {
	if elems, ok := v.([]any); ok {
		for i, e := range elems {
			if i > 0 {
				buf.AppendByte(',')
			}
			appendField(buf, e)
		}
		return
	}
	appendEscaped(buf, fmt.Sprint(v), true)
}

// appendEscaped appends s with printable text as it is, and everything else
// escaped as in a Go string literal: control characters (C0, DEL, C1, so no
// newline or ESC), format characters such as bidi overrides, line and
// paragraph separators, other non-printing runes, and each byte of invalid
// UTF-8 as \xNN. A backslash is doubled, so an escape in the output always
// stands for an escaped rune. In a field, spaces of every kind are escaped
// too, so that the line splits on spaces into its fields; a message keeps
// its ASCII spaces.
func appendEscaped(buf *buffer.Buffer, s string, field bool) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(buf, `\x%02x`, s[i])
		case r == '\\':
			buf.AppendString(`\\`)
		case r == ' ' && field:
			buf.AppendString(`\x20`)
		case unicode.IsPrint(r):
			buf.AppendString(s[i : i+size])
		default:
			q := strconv.QuoteRune(r) // '\n', '\x1b', '\u202e'
			buf.AppendString(q[1 : len(q)-1])
		}
		i += size
	}
}

// Interface guard.
var _ zapcore.Encoder = (*lineEncoder)(nil)
