package edge

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/template"
)

// cloudFrontMaxSize is the quota on a CloudFront Function's code: "Maximum
// size of the function code and included libraries: 10 KB" (Amazon
// CloudFront Developer Guide, "Choosing between CloudFront Functions and
// Lambda@Edge"). KB is read as 1,024 bytes; CloudFront itself refuses a
// larger function (FunctionSizeLimitExceeded).
const cloudFrontMaxSize = 10 * 1024

func init() {
	register(Target{Name: "cloudfront-function",
		Runtime: "a CloudFront Function (cloudfront-js-2.0) on viewer response; the key is in a CloudFront KeyValueStore",
		NoPass:  "a CloudFront Function cannot fetch the page again (\"There is no support for network calls\")",
		write:   writeCloudFront})
}

// writeCloudFront writes the CloudFront Function and refuses to hand out
// one that CloudFront would not take.
func writeCloudFront(w io.Writer, g guard) error {
	var code, body bytes.Buffer
	if err := cloudFrontHeader.Execute(&code, g); err != nil {
		return err
	}
	if err := cloudFrontCode.Execute(&body, g); err != nil {
		return err
	}
	code.WriteString(compactJS(identityJS + body.String()))
	if code.Len() > cloudFrontMaxSize {
		return fmt.Errorf("the function is %d bytes, over CloudFront Functions' %d-byte limit on a function's code: shorten the configuration's cookie, header and parameter lists", code.Len(), cloudFrontMaxSize)
	}
	_, err := w.Write(code.Bytes())
	return err
}

// compactJS drops what the function's size limit cannot afford: comment
// lines, indentation, empty lines and the spaces that no token needs.
// String and regular expression literals are kept as they are; a line
// ends where the next line could continue a statement. It takes the
// JavaScript this package writes: no block comments, no template literals
// spanning lines.
func compactJS(js string) string {
	var lines []string
	for _, line := range strings.Split(js, "\n") {
		if line = squeeze(strings.TrimSpace(line)); line != "" {
			lines = append(lines, line)
		}
	}
	var b strings.Builder
	for i, line := range lines {
		b.WriteString(line)
		// A line end stays where a statement may end without ";" and the
		// next line could continue it (a "}" may close an expression that
		// a "(" or "[" would call or index), and between two words.
		last, next := line[len(line)-1], byte(0)
		if i+1 < len(lines) {
			next = lines[i+1][0]
		}
		if next == 0 || isWordByte(last) && isWordByte(next) || !strings.ContainsRune(";{,", rune(last)) && !isWordByte(next) {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// squeeze removes the spaces of a line of code that separate no two
// tokens, and a comment that ends it.
func squeeze(line string) string {
	var out []byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			j := literalEnd(line, i, c)
			out = append(out, line[i:j]...)
			i = j - 1
		case c == '/' && i+1 < len(line) && line[i+1] == '/':
			return strings.TrimSpace(string(out))
		case c == '/' && startsRegexp(out):
			j := regexpEnd(line, i)
			out = append(out, line[i:j]...)
			i = j - 1
		case c == ' ' || c == '\t':
			k := i
			for k < len(line) && (line[k] == ' ' || line[k] == '\t') {
				k++
			}
			if len(out) > 0 && k < len(line) && (isWordByte(out[len(out)-1]) && isWordByte(line[k]) ||
				strings.IndexByte("+-", line[k]) >= 0 && out[len(out)-1] == line[k]) {
				out = append(out, ' ')
			}
			i = k - 1
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
}

// literalEnd returns the index just past the string literal that starts
// at line[i] with quote.
func literalEnd(line string, i int, quote byte) int {
	for j := i + 1; j < len(line); j++ {
		switch line[j] {
		case '\\':
			j++
		case quote:
			return j + 1
		}
	}
	return len(line)
}

// startsRegexp says whether a "/" after the code in out opens a regular
// expression rather than dividing: it does after an operator or a
// keyword, not after a name, a number or a closing bracket.
func startsRegexp(out []byte) bool {
	if len(out) == 0 {
		return true
	}
	last := out[len(out)-1]
	if last == ')' || last == ']' {
		return false
	}
	if !isWordByte(last) {
		return true
	}
	i := len(out)
	for i > 0 && isWordByte(out[i-1]) {
		i--
	}
	switch string(out[i:]) {
	case "return", "typeof", "case", "in", "of", "void", "delete", "throw", "new", "else", "do":
		return true
	}
	return false
}

// regexpEnd returns the index just past the regular expression literal,
// flags included, that starts at line[i].
func regexpEnd(line string, i int) int {
	class := false
	j := i + 1
	for ; j < len(line); j++ {
		switch c := line[j]; {
		case c == '\\':
			j++
		case c == '[':
			class = true
		case c == ']':
			class = false
		case c == '/' && !class:
			j++
			for j < len(line) && isWordByte(line[j]) {
				j++
			}
			return j
		}
	}
	return len(line)
}

// cloudFrontHeader is the function's comment (what wrote it, how it acts,
// where it goes, how the key rotates, what it cannot see) and imports.
var cloudFrontHeader = template.Must(template.New("cloudfront").Parse(
	`// cachefence edge guard: CloudFront Function (cloudfront-js-2.0) for viewer response; {{.Config.Version}},
// {{.Config.Source}}, configuration {{.Digest}}: regenerate it when the fence's rules change. A page whose
// {{.StampHeader}} is not the requester's, or whose request the event cannot show exactly, becomes a 503
// ({{.GuardHeader}}: refused) with none of the page (a function cannot fetch it again). Unstamped: no HMAC.
// Key: KeyValueStore item {{.Config.KeyName}}; rotating, the old key in {{.Config.KeyName}}_PREVIOUS until the RFC 3339
// time in {{.Config.KeyName}}_PREVIOUS_UNTIL. Deploying and limits: docs/edge.md.
import cf from 'cloudfront';
import crypto from 'crypto';
`))

// cloudFrontCode is the function's code after the identity; its comments
// go with compactJS.
var cloudFrontCode = template.Must(template.New("cloudfront-code").Parse(`
var KEY = "{{.Config.KeyName}}", STAMP = "{{.StampHeader}}", GUARD = "{{.GuardHeader}}", RULES = identityRules({{.RulesJSON}});
// A missing key or store reads as null.
async function stored(name) {
  try { return await cf.kvs().get(name, { format: "bytes" }); } catch (e) { return null; }
}
function stampWith(key, id) { return stampText(crypto.createHmac("sha256", key).update(id).digest()); }
async function owns(id, stamp) {
  var key = await stored(KEY);
  if (key !== null && sameStamp(stampWith(key, id), stamp)) return true;
  // njs, which CloudFront's runtime resembles, takes no await in arguments.
  var until = await stored(KEY + "_PREVIOUS_UNTIL");
  if (!(Date.now() < Date.parse(String(until)))) return false;
  var previous = await stored(KEY + "_PREVIOUS");
  return previous !== null && sameStamp(stampWith(previous, id), stamp);
}
function each(o, f) { Object.keys(o || {}).forEach(function (k) { (o[k].multiValue || [o[k]]).forEach(function (m) { f(k, m.value); }); }); }
// null when the event cannot show the request as the fence read it.
function requester(req) {
  var fields = [], pairs = [], exact = true;
  each(req.headers, function (h, v) { fields.push([h, v]); });
  each(req.cookies, function (c, v) { exact = exact && v !== ""; pairs.push(c + "=" + v); });
  if (pairs.length > 0) fields.push(["cookie", pairs.join("; ")]);
  var query = req.rawQueryString ? req.rawQueryString() : Object.keys(req.querystring || {}).length > 0 ? null : undefined;
  var target = req.uri + (query === undefined ? "" : "?" + query);
  return exact && query !== null && !/[^\x00-\x7f]/.test(JSON.stringify(fields) + target) ? identity(RULES, fields, target) : null;
}
async function handler(event) {
  var response = event.response, stamp = response.headers[STAMP], body = "This page was not made for you. Please retry.\n";
  if (!stamp) return response;
  try {
    var id = requester(event.request);
    // The fence sends one stamp: a page with more is no one's.
    if (id !== null && !(stamp.multiValue && stamp.multiValue.length > 1) && await owns(id, stamp.value)) return response;
  } catch (e) {}
  // Not what of the path may hold a session id.
  console.log(JSON.stringify({ cachefence_guard: "mismatch", path: loggedPath(event.request.uri) }));
  // Via and Warning are read-only here; no other header of the page stays.
  var h = { "cache-control": "private, no-store", "content-type": "text/plain; charset=utf-8", "content-length": String(body.length), "retry-after": "1" };
  h[GUARD] = "refused";
  ["via", "warning"].forEach(function (k) { if (response.headers[k]) h[k] = response.headers[k].value; });
  Object.keys(h).forEach(function (k) { h[k] = { value: h[k] }; });
  return { statusCode: 503, statusDescription: "Service Unavailable", headers: h, cookies: {}, body: { encoding: "text", data: body } };
}
`))
