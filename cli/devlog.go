package cli

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
)

func init() {
	caddy.RegisterModule(new(lineEncoder))
}

// fenceLogger is the name of cache_fence's logger, as Caddy derives it from
// the module ID.
const fenceLogger = "http.handlers.cache_fence"

// devLogging sends cache_fence's entries to stdout, one readable line each,
// and keeps everything else on the default log at INFO.
func devLogging() *caddy.Logging {
	return &caddy.Logging{Logs: map[string]*caddy.CustomLog{
		"default": {
			BaseLog: caddy.BaseLog{Level: "INFO"},
			Exclude: []string{fenceLogger},
		},
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

// EncodeEntry formats one entry.
func (e *lineEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	all := e.Clone().(*lineEncoder)
	for _, f := range fields {
		f.AddTo(all)
	}
	m := all.Fields
	buf := linePool.Get()
	buf.AppendString(ent.Time.Format("15:04:05"))
	if verdict, ok := m["verdict"].(string); ok {
		fmt.Fprintf(buf, " %v %v %v %s", m["method"], m["path"], m["status"], verdict)
		if reasons, ok := m["reasons"].([]any); ok && len(reasons) > 0 {
			for _, r := range reasons {
				fmt.Fprintf(buf, " %v", r)
			}
		}
	} else {
		buf.AppendString(" " + strings.ToUpper(ent.Level.String()) + " " + ent.Message)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(buf, " %s=%v", k, m[k])
		}
	}
	buf.AppendByte('\n')
	return buf, nil
}

// Interface guard.
var _ zapcore.Encoder = (*lineEncoder)(nil)
