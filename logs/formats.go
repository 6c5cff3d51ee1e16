package logs

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// formatSpec is one log format: its name, how a log's first line shows
// it, and its parser. The formats table is the one place a format is
// added: detection, parsing and the list --help prints all read it.
type formatSpec struct {
	name Format
	// detect reports whether a log's first line, trimmed of blank space,
	// is in this format. It is nil for the formats that cannot be told
	// from a line: the tab-separated ones look alike.
	detect func(line string) bool
	// json says that each record is one JSON object, so that a log may
	// also hold records as the elements of JSON arrays.
	json bool
	new  func(Options) (parser, error)
}

// formats is every format. Detection tries them in this order, so a line
// that two would claim goes to the first.
var formats = []formatSpec{
	{name: CloudFront, detect: func(line string) bool {
		return strings.HasPrefix(line, "#Version:") || strings.HasPrefix(line, "#Fields:")
	}, new: func(Options) (parser, error) { return &w3cParser{words: words{field: "x-edge-result-type"}}, nil }},
	{name: CloudFrontRealtime, new: func(o Options) (parser, error) { return newRealtimeParser(o.Fields) }},
	// "content" alone is the upload that validates a Logpush destination.
	{name: Cloudflare, json: true, detect: hasKey("EdgeStartTimestamp", "RayID", "CacheCacheStatus", "ClientRequestURI", "content"),
		new: func(o Options) (parser, error) { return newLogpushParser(o.StampHeader), nil }},
	{name: Fastly, json: true, detect: hasKey("fastly_state"),
		new: func(Options) (parser, error) { return &fastlyParser{words: words{field: "fastly_info.state"}}, nil }},
	{name: Akamai, json: true, detect: hasKey("reqTimeSec", "reqPath", "cacheStatus"),
		new: func(Options) (parser, error) { return &datastreamParser{words: words{field: "cacheStatus"}}, nil }},
	{name: CloudCDN, json: true, detect: hasKey("httpRequest"),
		new: func(Options) (parser, error) { return &cloudCDNParser{words: words{field: "statusDetails"}}, nil }},
	{name: Varnishncsa, new: func(Options) (parser, error) { return &tabParser{words: words{field: "Varnish:handling"}}, nil }},
	{name: Nginx, new: func(Options) (parser, error) { return &tabParser{words: words{field: "$upstream_cache_status"}}, nil }},
}

// Formats lists every format, for flags and documentation.
var Formats = func() []Format {
	names := make([]Format, len(formats))
	for i, f := range formats {
		names[i] = f.name
	}
	return names
}()

// Unknown is the format of a stream whose format was neither given nor
// told from its lines: its bad lines are counted under this name.
const Unknown Format = "unknown"

// hasKey returns a detect function for a JSON format: the line is a JSON
// object with one of keys at its top level.
func hasKey(keys ...string) func(string) bool {
	return func(line string) bool {
		found := false
		err := members(line, func(key, _ string) { found = found || slices.Contains(keys, key) })
		return err == nil && found
	}
}

func spec(f Format) (formatSpec, bool) {
	i := slices.IndexFunc(formats, func(s formatSpec) bool { return s.name == f })
	if i < 0 {
		return formatSpec{}, false
	}
	return formats[i], true
}

// newParser returns the parser for o.Format, which must be set.
func newParser(o Options) (parser, error) {
	if s, ok := spec(o.Format); ok {
		return s.new(o)
	}
	return nil, fmt.Errorf("unknown log format %q (want %s)", o.Format, formatNames())
}

// ParseFormat reads a format name, as --format takes it.
func ParseFormat(s string) (Format, error) {
	if s == "" || s == "auto" {
		return "", nil
	}
	if _, ok := spec(Format(s)); ok {
		return Format(s), nil
	}
	return "", fmt.Errorf("unknown log format %q (want auto, %s)", s, formatNames())
}

func formatNames() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// detect tells a format from a log's first line, with each format's
// detect in the table's order. A comment line, before CloudFront's
// directives, tells nothing yet: it returns "" and no error.
func detect(line string) (Format, error) {
	line = strings.TrimSpace(line)
	for _, f := range formats {
		if f.detect != nil && f.detect(line) {
			return f.name, nil
		}
	}
	if strings.HasPrefix(line, "#") {
		return "", nil
	}
	return "", errors.New("cannot tell the log format from the first line; pass --format")
}

// jsonFormat says whether f's records are JSON objects; the empty format,
// not yet told, may be.
func jsonFormat(f Format) bool {
	s, ok := spec(f)
	return f == "" || (ok && s.json)
}
