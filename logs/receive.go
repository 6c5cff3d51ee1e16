package logs

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Receiver accepts logs that CDNs push over HTTP, each push authenticated
// with a shared secret:
//
//	POST /cloudflare   Logpush's HTTP destination: http_requests NDJSON,
//	                   gzip; the secret in "Authorization: Bearer <secret>"
//	POST /fastly       Fastly's HTTPS logging endpoint: the recommended
//	                   format, newline-delimited; the secret likewise
//	GET  /.well-known/fastly/logging/challenge
//	                   Fastly's ownership challenge
//	POST /firehose     Amazon Data Firehose's HTTP endpoint delivery of
//	                   CloudFront real-time logs; the secret in
//	                   X-Amz-Firehose-Access-Key
//
// A push is read whole before anything in it is checked: one that cannot
// be read, in part or at all, is answered with an error, so that the
// sender retries it, and none of its records count.
//
// Memory is bounded per push and in total. A push is held as it was
// sent, compressed or not, in one buffer of at most MaxBody bytes, and
// decompressed as it is read, within MaxBody; its records are never held
// (see push.twice). Pushes held at once hold at most MaxInFlight bytes of
// buffers together; a push that would pass it is answered 503 with
// Retry-After, which every sender retries. A body not read within
// ReadTimeout is answered 408.
type Receiver struct {
	Sink *Sink
	// Secret authenticates every push; it must be set.
	Secret string
	// Fields are the CloudFront real-time log configuration's fields, for
	// /firehose.
	Fields []string
	// StampHeader names the owner-stamp header in Logpush's
	// ResponseHeaders.
	StampHeader string
	// FastlyServices are the Fastly service IDs the challenge vouches
	// for; with none it answers "*", any service, since pushes need the
	// secret anyway.
	FastlyServices []string
	// MaxBody bounds a push, as sent and decompressed; zero means
	// DefaultMaxBody.
	MaxBody int64
	// MaxInFlight bounds the bytes of the pushes held at once; zero means
	// four pushes of MaxBody. A push larger than it is never taken.
	MaxInFlight int64
	// ReadTimeout bounds the reading of a push's body, from the end of its
	// headers; zero means DefaultReadTimeout. It needs a ResponseWriter
	// that takes read deadlines, as net/http's server gives.
	ReadTimeout time.Duration
	// MaxLine bounds a line; see Options.
	MaxLine int
	// Refused, optional, is told of each push refused: its route
	// ("POST /fastly"), the sender's address, the status answered and
	// why, never the secret presented nor the body.
	Refused func(route, remote string, status int, why string)

	inFlight atomic.Int64 // bytes held by the pushes being read
}

// DefaultMaxBody is the default bound on a push: Firehose's largest
// request body. Set Logpush's max_upload_bytes no higher.
const DefaultMaxBody = 64 << 20

// DefaultReadTimeout is the default time a push's body has to arrive: a
// push of DefaultMaxBody in it needs 4.5 Mbit/s, far below any CDN's
// uplink, so a slower body is a stalled or hostile sender. The sender
// retries.
const DefaultReadTimeout = 2 * time.Minute

// retryAfter is what a push refused for want of memory is told, in
// seconds.
const retryAfter = "5"

// fastlyChallenge is where Fastly checks that the endpoint's owner wants
// its logs.
const fastlyChallenge = "/.well-known/fastly/logging/challenge"

var (
	// errTooLarge is a push over MaxBody.
	errTooLarge = errors.New("push too large")
	// errBusy is a push that would take the receiver past MaxInFlight.
	errBusy = errors.New("too many pushes at once")
)

// route is a push route: how its sender presents the secret, and what the
// sender calls it, how it is answered, and how its content is read.
type route struct {
	path    string
	secret  func(*http.Request) string
	called  string
	answer  func(w http.ResponseWriter, r *http.Request, msg string, status int)
	content func(*push) error
}

var routes = []route{
	{"/cloudflare", bearer, "secret", answerText, lines(Cloudflare)},
	{"/fastly", bearer, "secret", answerText, lines(Fastly)},
	// DataStream 2's custom HTTPS destination, with a custom header
	// Authorization: Bearer <secret>.
	{"/akamai", bearer, "secret", answerText, lines(Akamai)},
	{"/firehose", func(r *http.Request) string { return r.Header.Get("X-Amz-Firehose-Access-Key") }, "access key", answerFirehose, firehose},
}

// Handler serves the receiver's routes.
func (rv *Receiver) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.HandleFunc(http.MethodPost+" "+rt.path, rv.serve(rt))
	}
	mux.HandleFunc(http.MethodGet+" "+fastlyChallenge, rv.challenge)
	return mux
}

// Routes lists the routes Handler serves, as "METHOD /path".
func (rv *Receiver) Routes() []string {
	var list []string
	for _, rt := range routes {
		list = append(list, http.MethodPost+" "+rt.path)
	}
	return append(list, http.MethodGet+" "+fastlyChallenge)
}

func bearer(r *http.Request) string {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return token
}

func answerText(w http.ResponseWriter, _ *http.Request, msg string, status int) {
	if status != http.StatusOK {
		http.Error(w, msg, status)
		return
	}
	w.WriteHeader(status)
}

// firehoseResponse is Firehose's HTTP endpoint delivery response
// (docs.aws.amazon.com/firehose/latest/dev/httpdeliveryrequestresponse.html).
type firehoseResponse struct {
	RequestID    string `json:"requestId"`
	Timestamp    int64  `json:"timestamp"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

func answerFirehose(w http.ResponseWriter, r *http.Request, msg string, status int) {
	body, _ := json.Marshal(firehoseResponse{RequestID: r.Header.Get("X-Amz-Firehose-Request-Id"), Timestamp: time.Now().UnixMilli(), ErrorMessage: msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// authorized compares the presented secret in constant time.
func (rv *Receiver) authorized(presented string) bool {
	return rv.Secret != "" && subtle.ConstantTimeCompare([]byte(presented), []byte(rv.Secret)) == 1
}

func (rv *Receiver) challenge(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if len(rv.FastlyServices) == 0 {
		io.WriteString(w, "*\n")
		return
	}
	for _, id := range rv.FastlyServices {
		sum := sha256.Sum256([]byte(id))
		fmt.Fprintf(w, "%s\n", hex.EncodeToString(sum[:]))
	}
}

func (rv *Receiver) maxBody() int64 { return cmp.Or(rv.MaxBody, DefaultMaxBody) }

// serve serves one push route.
func (rv *Receiver) serve(rt route) http.HandlerFunc {
	name := http.MethodPost + " " + rt.path
	return func(w http.ResponseWriter, r *http.Request) {
		// Without support (a test's recorder), the body has no deadline.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(cmp.Or(rv.ReadTimeout, DefaultReadTimeout)))
		refuse := func(status int, why string) {
			if rv.Refused != nil {
				rv.Refused(name, r.RemoteAddr, status, why)
			}
			rt.answer(w, r, why, status)
		}
		if !rv.authorized(rt.secret(r)) {
			refuse(http.StatusUnauthorized, "bad or missing "+rt.called)
			return
		}
		p := &push{rv: rv, source: "push:" + rt.path[1:]}
		defer func() { rv.inFlight.Add(-p.held) }()
		var err error
		if p.body, err = p.readAll(r.Body, r.ContentLength); err == nil {
			err = rt.content(p)
		}
		if err == nil {
			rt.answer(w, r, "", http.StatusOK)
			return
		}
		status, why := http.StatusBadRequest, err.Error()
		switch {
		case errors.Is(err, errTooLarge):
			// No retry can make it fit: the window is not failed for it.
			refuse(http.StatusRequestEntityTooLarge, fmt.Sprintf("push larger than %d bytes", rv.maxBody()))
			return
		case errors.Is(err, errBusy):
			status, why = http.StatusServiceUnavailable, fmt.Sprintf("busy: pushes being read hold %d bytes", cmp.Or(rv.MaxInFlight, 4*rv.maxBody()))
			w.Header().Set("Retry-After", retryAfter)
		case errors.Is(err, os.ErrDeadlineExceeded):
			status, why = http.StatusRequestTimeout, fmt.Sprintf("push not read within %s", cmp.Or(rv.ReadTimeout, DefaultReadTimeout))
		}
		// The sender retries; until then the window may miss findings.
		if rv.Sink.Window != nil {
			rv.Sink.Window.Fail()
		}
		refuse(status, why)
	}
}

// push is one push being read.
type push struct {
	rv     *Receiver
	source string
	// body is the push as sent; held the bytes of MaxInFlight its buffers
	// hold.
	body []byte
	held int64
	// br is the line buffer every read of the push goes through; left is
	// what the pass may still decompress, within MaxBody.
	br   *bufio.Reader
	left int64
}

// hold takes n bytes of MaxInFlight for the push, or fails with errBusy.
func (p *push) hold(n int64) error {
	if p.rv.inFlight.Add(n) > cmp.Or(p.rv.MaxInFlight, 4*p.rv.maxBody()) {
		p.rv.inFlight.Add(-n)
		return errBusy
	}
	p.held += n
	return nil
}

// readAll reads src whole into one buffer of at most MaxBody bytes, held
// against MaxInFlight: of size bytes when the size is known (-1 when not),
// else grown by doubling.
func (p *push) readAll(src io.Reader, size int64) ([]byte, error) {
	limit := p.rv.maxBody()
	if size > limit {
		return nil, errTooLarge
	}
	if size < 0 {
		size = min(limit, 64<<10)
	}
	if err := p.hold(size); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			// Full: the end, or one more byte that needs room.
			var one [1]byte
			if _, err := io.ReadFull(src, one[:]); err == io.EOF {
				return buf, nil
			} else if err != nil {
				return nil, fmt.Errorf("reading the push: %w", err)
			}
			if int64(len(buf)) >= limit {
				return nil, errTooLarge
			}
			grow := min(max(2*int64(cap(buf)), 64<<10), limit) - int64(cap(buf))
			if err := p.hold(grow); err != nil {
				return nil, err
			}
			buf = append(make([]byte, 0, int64(cap(buf))+grow), buf...)
			buf = append(buf, one[0])
			continue
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the push: %w", err)
		}
	}
}

// twice runs pass over the push's content twice: first to find whether
// all of it is readable, checking nothing, then, if it is, to check its
// records. A push counts whole or not at all, yet its records are never
// held: reading again costs a parse per line, where holding the records
// cost several times the push in memory.
func (p *push) twice(pass func(emit func(Format, *Record)) error) error {
	p.left = p.rv.maxBody()
	if err := pass(func(Format, *Record) {}); err != nil {
		return err
	}
	p.left = p.rv.maxBody()
	return pass(func(f Format, rec *Record) { p.rv.Sink.Record(p.source, f, rec) })
}

// read reads data, gzip or not, with Read.
func (p *push) read(data []byte, o Options, emit func(Format, *Record)) (Stats, error) {
	r, err := inflated(data)
	if err != nil {
		return Stats{}, err
	}
	if p.br == nil {
		p.br = bufio.NewReaderSize(nil, cmp.Or(o.MaxLine, DefaultMaxLine))
	}
	// Read takes a bufio.Reader of its size as it is: one line buffer per
	// push, however many records it holds.
	p.br.Reset(&capped{r, &p.left})
	return Read(p.br, o, emit)
}

// inflated returns data's content, decompressed as a stream as often as it
// is gzip, up to twice: Fastly says so in Content-Encoding, Logpush does
// not, and a push may do both. Read would find the magic itself, but
// without the bound that capped puts on the output.
func inflated(data []byte) (io.Reader, error) {
	var r io.Reader = bytes.NewReader(data)
	head := data
	for range 2 {
		if !bytes.HasPrefix(head, gzipMagic) {
			return r, nil
		}
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("reading gzip: %w", err)
		}
		br := bufio.NewReaderSize(zr, 16)
		head, _ = br.Peek(len(gzipMagic)) // a read error shows on reading
		r = br
	}
	if bytes.HasPrefix(head, gzipMagic) {
		return nil, errors.New("reading gzip: gzip within gzip within gzip")
	}
	return r, nil
}

// capped reads r while *left allows, and fails with errTooLarge past it.
type capped struct {
	r    io.Reader
	left *int64
}

func (c *capped) Read(b []byte) (int, error) {
	if int64(len(b)) > *c.left+1 {
		b = b[:*c.left+1]
	}
	n, err := c.r.Read(b)
	if *c.left -= int64(n); *c.left < 0 {
		return n, errTooLarge
	}
	return n, err
}

func (rv *Receiver) options(f Format) Options {
	return Options{Format: f, Fields: rv.Fields, StampHeader: rv.StampHeader, MaxLine: rv.MaxLine}
}

// lines reads a vendor's push of log lines.
func lines(f Format) func(*push) error {
	return func(p *push) error {
		return p.twice(func(emit func(Format, *Record)) error {
			st, err := p.read(p.body, p.rv.options(f), emit)
			if err == nil && st.Bad > 0 {
				err = fmt.Errorf("%d unreadable lines, first %s", st.Bad, st.BadLines[0])
			}
			if err != nil {
				p.rv.Sink.Metrics.ParseErrors(f, st.Bad)
			}
			return err
		})
	}
}

// firehoseRequest is Firehose's HTTP endpoint delivery request; encoding/json
// decodes each record's base64.
type firehoseRequest struct {
	Records []struct {
		Data []byte `json:"data"`
	} `json:"records"`
}

// firehose reads a Firehose delivery: a JSON document, gzip when the
// stream's content encoding is GZIP, of base64 records.
func firehose(p *push) error {
	body := p.body
	if bytes.HasPrefix(body, gzipMagic) {
		r, err := inflated(body)
		if err != nil {
			return err
		}
		if body, err = p.readAll(r, -1); err != nil {
			return err
		}
	}
	var req firehoseRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return fmt.Errorf("reading the delivery request: %w", err)
	}
	// The records are decoded: the request need not stay.
	p.body, body = nil, nil
	o := p.rv.options(CloudFrontRealtime)
	return p.twice(func(emit func(Format, *Record)) error {
		for i, record := range req.Records {
			st, err := p.read(record.Data, o, func(f Format, rec *Record) {
				rec.Line = int64(i + 1)
				emit(f, rec)
			})
			if err == nil && st.Bad > 0 {
				err = errors.New(st.BadLines[0].Reason)
			}
			if err != nil {
				p.rv.Sink.Metrics.ParseErrors(CloudFrontRealtime, max(st.Bad, 1))
				return fmt.Errorf("record %d: %w", i+1, err)
			}
		}
		return nil
	})
}
