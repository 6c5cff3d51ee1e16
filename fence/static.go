package fence

import (
	"net/http"
	"strings"
)

// fileType is what file servers send for a file extension.
type fileType struct {
	// types are the media types a file server sends for the extension, in
	// lower case. "image/*" accepts any image but SVG, which is XML that
	// can be generated per user; likewise "audio/*", "video/*", "font/*".
	types []string
	// cachedByDefault: CDNs cache the extension whatever the origin says
	// (Cloudflare's default cached extensions,
	// developers.cloudflare.com/cache/concepts/default-cache-behavior/,
	// plus mjs and map), so a page answered at such a path is web cache
	// deception.
	cachedByDefault bool
}

var (
	javascript = []string{"text/javascript", "application/javascript", "application/x-javascript", "application/ecmascript", "text/ecmascript"}
	anyImage   = []string{"image/*"}
	anyAudio   = []string{"audio/*", "video/*"}
	anyVideo   = []string{"video/*", "audio/*"}
	anyFont    = []string{"font/*", "application/font-woff", "application/font-woff2", "application/x-font-woff",
		"application/x-font-ttf", "application/x-font-otf", "application/font-sfnt", "application/vnd.ms-fontobject"}
)

// fileTypes maps lower-case extensions to what file servers send, after
// the types of Go's mime package, nginx's mime.types and Apache's.
var fileTypes = map[string]fileType{
	// Cloudflare's default cached extensions.
	"7z": {[]string{"application/x-7z-compressed"}, true}, "apk": {[]string{"application/vnd.android.package-archive"}, true},
	"avi": {anyVideo, true}, "avif": {anyImage, true}, "bin": {nil, true}, "bmp": {anyImage, true},
	"bz2":   {[]string{"application/x-bzip2", "application/x-bzip"}, true},
	"class": {[]string{"application/java-vm", "application/java", "application/x-java-class"}, true},
	"css":   {[]string{"text/css"}, true}, "csv": {[]string{"text/csv", "application/csv", "text/comma-separated-values", "application/vnd.ms-excel"}, true},
	"doc":  {[]string{"application/msword"}, true},
	"docx": {[]string{"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}, true},
	"dmg":  {[]string{"application/x-apple-diskimage"}, true}, "ejs": {nil, true},
	"eot": {anyFont, true}, "eps": {[]string{"application/postscript"}, true},
	"exe":  {[]string{"application/x-msdownload", "application/vnd.microsoft.portable-executable", "application/x-msdos-program", "application/x-dosexec"}, true},
	"flac": {anyAudio, true}, "gif": {anyImage, true}, "gz": {[]string{"application/gzip", "application/x-gzip"}, true},
	"ico": {anyImage, true}, "iso": {[]string{"application/x-iso9660-image"}, true},
	"jar":  {[]string{"application/java-archive", "application/x-java-archive"}, true},
	"jpeg": {anyImage, true}, "jpg": {anyImage, true}, "js": {javascript, true},
	"mid": {anyAudio, true}, "midi": {anyAudio, true}, "mkv": {anyVideo, true}, "mp3": {anyAudio, true},
	"mp4": {anyVideo, true}, "ogg": {append([]string{"application/ogg"}, anyAudio...), true},
	"otf": {anyFont, true}, "pdf": {[]string{"application/pdf"}, true}, "pict": {anyImage, true},
	"pls": {[]string{"audio/x-scpls", "audio/scpls", "application/pls+xml"}, true}, "png": {anyImage, true},
	"ppt":  {[]string{"application/vnd.ms-powerpoint"}, true},
	"pptx": {[]string{"application/vnd.openxmlformats-officedocument.presentationml.presentation"}, true},
	"ps":   {[]string{"application/postscript"}, true},
	"rar":  {[]string{"application/vnd.rar", "application/x-rar-compressed", "application/x-rar"}, true},
	"svg":  {[]string{"image/svg+xml"}, true}, "svgz": {[]string{"image/svg+xml"}, true},
	"swf": {[]string{"application/x-shockwave-flash"}, true}, "tar": {[]string{"application/x-tar"}, true},
	"tif": {anyImage, true}, "tiff": {anyImage, true}, "ttf": {anyFont, true},
	"webm": {anyVideo, true}, "webp": {anyImage, true}, "woff": {anyFont, true}, "woff2": {anyFont, true},
	"xls":  {[]string{"application/vnd.ms-excel"}, true},
	"xlsx": {[]string{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}, true},
	"zip":  {[]string{"application/zip", "application/x-zip-compressed"}, true},
	"zst":  {[]string{"application/zstd"}, true},
	// Build output that CDNs are commonly told to cache: ES modules and
	// source maps (JSON, as file servers send them).
	"mjs": {javascript, true}, "map": {[]string{"application/json"}, true},
	// Files that public_paths may hold, not cached by default.
	"html": {[]string{"text/html"}, false}, "htm": {[]string{"text/html"}, false},
	"json": {[]string{"application/json"}, false}, "xml": {[]string{"application/xml", "text/xml"}, false},
	"txt": {[]string{"text/plain"}, false}, "wasm": {[]string{"application/wasm"}, false},
	"webmanifest": {[]string{"application/manifest+json"}, false},
}

// maxExtension bounds the extensions looked up; none in the table is longer.
const maxExtension = 16

// lookupExtension returns the file type of the extension of the last
// segment of p, folding case without allocating.
func lookupExtension(p string) (fileType, bool) {
	seg := p[strings.LastIndexByte(p, '/')+1:]
	dot := strings.LastIndexByte(seg, '.')
	if dot < 0 || len(seg)-dot-1 > maxExtension {
		return fileType{}, false
	}
	var buf [maxExtension]byte
	ext := buf[:0]
	for i := dot + 1; i < len(seg); i++ {
		c := seg[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		ext = append(ext, c)
	}
	ft, ok := fileTypes[string(ext)]
	return ft, ok
}

// accepts reports whether a file server sends mediaType (lower case, no
// parameters) for files of this type. application/octet-stream (and S3's
// binary/octet-stream) is what servers send for any file they cannot name.
func (ft fileType) accepts(mediaType string) bool {
	if mediaType == "application/octet-stream" || mediaType == "binary/octet-stream" {
		return true
	}
	for _, t := range ft.types {
		if family, ok := strings.CutSuffix(t, "*"); ok {
			if strings.HasPrefix(mediaType, family) && mediaType != "image/svg+xml" {
				return true
			}
		} else if mediaType == t {
			return true
		}
	}
	return false
}

// singleMediaType returns the media type of the only Content-Type line,
// in lower case and without parameters. ok is false for no line, several
// lines, or an empty value: a file server sends exactly one.
func singleMediaType(resp http.Header) (mediaType string, ok bool) {
	lines := resp["Content-Type"]
	if len(lines) != 1 {
		return "", false
	}
	mt, _, _ := strings.Cut(lines[0], ";")
	if mt = trimOWS(mt); mt == "" {
		return "", false
	}
	if strings.ContainsFunc(mt, func(r rune) bool { return 'A' <= r && r <= 'Z' }) {
		mt = strings.ToLower(mt) // rare: servers send types in lower case
	}
	return mt, true
}

// fromFileServer reports the marks that file servers put on a file and
// that applications rarely put on what they render: Last-Modified (nginx,
// Apache, Caddy, S3, Go's http.ServeContent, Express's sendFile) or
// Accept-Ranges: bytes (the same, and Go's http.FileServer over an
// embedded file system, which has no modification time). An ETag is no
// mark: Express and Django's ConditionalGetMiddleware add one to every
// rendered page. No type is proof by itself either: a Django view behind a
// login returns a per-user avatar as a FileResponse, with neither mark.
func fromFileServer(resp http.Header) bool {
	return len(resp["Last-Modified"]) > 0 || strings.Contains(strings.Join(resp["Accept-Ranges"], ","), "bytes")
}

// untyped reports a response whose Content-Type key is present with no
// line: net/http then sends no type and sniffs nothing. Caddy's
// file_server answers so for an extension it cannot name (.map).
func untyped(resp http.Header) bool {
	lines, present := resp["Content-Type"]
	return present && len(lines) == 0
}

// namedByGo are the extensions Go's mime package names without any
// mime.types file (its builtin table), so that Caddy's file_server and
// Go's http.FileServer never send them untyped: an untyped answer at such
// a path was not sent by a file server.
var namedByGo = map[string]bool{
	"avif": true, "css": true, "gif": true, "htm": true, "html": true, "jpeg": true, "jpg": true, "js": true,
	"json": true, "mjs": true, "pdf": true, "png": true, "svg": true, "wasm": true, "webp": true, "xml": true,
}

// untypedFile reports an untyped answer, with a file server's marks, at a
// path p whose extension file servers may not know.
func untypedFile(p string, resp http.Header) bool {
	if !untyped(resp) || !fromFileServer(resp) {
		return false
	}
	seg := p[strings.LastIndexByte(p, '/')+1:]
	return !namedByGo[strings.ToLower(seg[strings.LastIndexByte(seg, '.')+1:])]
}

// compressionSuffixes are extensions that name a compression of the file
// whose name they follow (app.css.gz, backup.tar.gz). File servers may
// send the type of what is inside: the AWS CLI stores .tar.gz as
// application/x-tar (Python's mimetypes reads the inner extension), and
// Apache's AddEncoding sends the inner type with Content-Encoding.
var compressionSuffixes = map[string]bool{"gz": true, "bz2": true, "zst": true}

// innerFileType returns, for a path ending in a compression suffix, the
// file type of the extension before it (".tar" of "x.tar.gz"), when that
// type is one CDNs cache by default: an inner .html is not, so a page at
// /account/x.html.gz gains nothing from it.
func innerFileType(p string) (fileType, bool) {
	seg := p[strings.LastIndexByte(p, '/')+1:]
	dot := strings.LastIndexByte(seg, '.')
	if dot < 0 || !compressionSuffixes[strings.ToLower(seg[dot+1:])] {
		return fileType{}, false
	}
	ft, ok := lookupExtension(seg[:dot])
	return ft, ok && ft.cachedByDefault
}

// hasBody reports whether a response with this status carries content
// whose type matters.
func hasBody(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified && (status < 100 || status > 199)
}

// pathConfused reports a request whose path or query a cache would take for
// a static file of a type the response is not, which is how web cache
// deception gets a page stored (/account/x.css, /account;x.css,
// /account%2Fx.css, /account?x.css, or a .css answered as text/plain). A
// 2xx with no Content-Type at all counts: net/http sniffs the body after
// the fence has decided, and a page sniffs as text/html.
//
// A file server's answer is not confused: an untyped one (nothing is
// sniffed), or a compressed file sent with the type of what is inside,
// when either carries a file server's marks.
func pathConfused(req *Request, status int, resp http.Header) bool {
	for _, view := range [...]string{req.RawPath, req.Path, req.RawQuery} {
		ft, ok := lookupExtension(view)
		if !ok || !ft.cachedByDefault || !hasBody(status) {
			continue
		}
		if _, present := resp["Content-Type"]; !present {
			if status >= 200 && status <= 299 {
				return true
			}
			continue
		}
		if !typeFits(view, ft, resp) {
			return true
		}
	}
	return false
}

// typeFits reports whether the response's type is what a file server
// sends for a file at path p of type ft.
func typeFits(p string, ft fileType, resp http.Header) bool {
	if untyped(resp) {
		return untypedFile(p, resp)
	}
	mt, ok := singleMediaType(resp)
	if !ok {
		return false
	}
	if ft.accepts(mt) {
		return true
	}
	inner, ok := innerFileType(p)
	return ok && inner.accepts(mt) && fromFileServer(resp)
}

// plainlyStatic reports a response that is plainly a static file as a
// file server sends it: the marks of fromFileServer, whatever the type,
// and one Content-Type (or an untyped answer) that fits the path's
// extension when the extension is known. A public path lifts the cookie
// rule only for such a response. A response without a body (304, 204)
// brings no content of its own: a 304 only refreshes what the cache
// stored, which was judged when it was stored.
func plainlyStatic(req *Request, status int, resp http.Header) bool {
	if !hasBody(status) {
		return true
	}
	if !fromFileServer(resp) {
		return false
	}
	if ft, known := lookupExtension(req.RawPath); known {
		return typeFits(req.RawPath, ft, resp)
	}
	_, ok := singleMediaType(resp)
	return ok || untypedFile(req.RawPath, resp)
}
