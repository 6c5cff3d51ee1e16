package logs

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
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
// sender retries it, and none of its records count. Pushes are bounded
// by MaxBody, decompressed.
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
	// MaxBody bounds a push, decompressed; zero means DefaultMaxBody.
	MaxBody int64
	// MaxLine bounds a line; see Options.
	MaxLine int
}

// DefaultMaxBody is the default bound on a push: Firehose's largest
// request body. Set Logpush's max_upload_bytes no higher.
const DefaultMaxBody = 64 << 20

// fastlyChallenge is where Fastly checks that the endpoint's owner wants
// its logs.
const fastlyChallenge = "/.well-known/fastly/logging/challenge"

// errTooLarge is a push over MaxBody.
var errTooLarge = errors.New("push too large")

// Handler serves the receiver's routes.
func (rv *Receiver) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cloudflare", rv.lines(Cloudflare))
	mux.HandleFunc("POST /fastly", rv.lines(Fastly))
	mux.HandleFunc("GET "+fastlyChallenge, rv.challenge)
	mux.HandleFunc("POST /firehose", rv.firehose)
	return mux
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

// pushed is a record read from a push, waiting for the push to be read
// whole.
type pushed struct {
	format Format
	rec    Record
}

// lines serves a vendor that posts log lines.
func (rv *Receiver) lines(f Format) http.HandlerFunc {
	source := "push:" + string(f)
	return func(w http.ResponseWriter, r *http.Request) {
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !rv.authorized(token) {
			http.Error(w, "bad or missing secret", http.StatusUnauthorized)
			return
		}
		body, err := rv.body(w, r)
		if err != nil {
			rv.refuse(w, err, func(msg string, status int) { http.Error(w, msg, status) })
			return
		}
		var recs []pushed
		st, err := Read(bytes.NewReader(body), rv.options(f), func(f Format, rec *Record) {
			recs = append(recs, pushed{f, *rec})
		})
		if err == nil && st.Bad > 0 {
			err = fmt.Errorf("%d unreadable lines, first %s", st.Bad, st.BadLines[0])
		}
		if err != nil {
			rv.Sink.Metrics.ParseErrors(f, st.Bad)
			rv.refuse(w, err, func(msg string, status int) { http.Error(w, msg, status) })
			return
		}
		rv.accept(source, recs)
		w.WriteHeader(http.StatusOK)
	}
}

// firehoseRequest and firehoseResponse are Firehose's HTTP endpoint
// delivery bodies (docs.aws.amazon.com/firehose/latest/dev/httpdeliveryrequestresponse.html).
type firehoseRequest struct {
	RequestID string `json:"requestId"`
	Records   []struct {
		Data string `json:"data"`
	} `json:"records"`
}

type firehoseResponse struct {
	RequestID    string `json:"requestId"`
	Timestamp    int64  `json:"timestamp"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

func (rv *Receiver) firehose(w http.ResponseWriter, r *http.Request) {
	requestID := r.Header.Get("X-Amz-Firehose-Request-Id")
	respond := func(msg string, status int) {
		body, _ := json.Marshal(firehoseResponse{RequestID: requestID, Timestamp: time.Now().UnixMilli(), ErrorMessage: msg})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(status)
		w.Write(body)
	}
	if !rv.authorized(r.Header.Get("X-Amz-Firehose-Access-Key")) {
		respond("bad or missing access key", http.StatusUnauthorized)
		return
	}
	body, err := rv.body(w, r)
	if err != nil {
		rv.refuse(w, err, respond)
		return
	}
	var req firehoseRequest
	if err := json.Unmarshal(body, &req); err != nil {
		rv.refuse(w, fmt.Errorf("reading the delivery request: %w", err), respond)
		return
	}
	requestID = cmp.Or(requestID, req.RequestID)
	var recs []pushed
	budget := cmp.Or(rv.MaxBody, DefaultMaxBody) // for the records decompressed

	for i, record := range req.Records {
		data, err := base64.StdEncoding.DecodeString(record.Data)
		if err != nil {
			rv.refuse(w, fmt.Errorf("record %d: bad base64", i+1), respond)
			return
		}
		if data, err = inflate(data, budget); err != nil {
			rv.refuse(w, fmt.Errorf("record %d: %w", i+1, err), respond)
			return
		}
		budget -= int64(len(data))
		st, err := Read(bytes.NewReader(data), rv.options(CloudFrontRealtime), func(f Format, rec *Record) {
			rec.Line = int64(i + 1)
			recs = append(recs, pushed{f, *rec})
		})
		if err == nil && st.Bad > 0 {
			err = fmt.Errorf("record %d: %s", i+1, st.BadLines[0].Reason)
		}
		if err != nil {
			rv.Sink.Metrics.ParseErrors(CloudFrontRealtime, max(st.Bad, 1))
			rv.refuse(w, err, respond)
			return
		}
	}
	rv.accept("push:firehose", recs)
	respond("", http.StatusOK)
}

func (rv *Receiver) options(f Format) Options {
	return Options{Format: f, Fields: rv.Fields, StampHeader: rv.StampHeader, MaxLine: rv.MaxLine}
}

// body reads a push whole, decompressed, within MaxBody.
func (rv *Receiver) body(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := cmp.Or(rv.MaxBody, DefaultMaxBody)
	var src io.Reader = http.MaxBytesReader(w, r.Body, limit)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, fmt.Errorf("reading gzip: %w", err)
		}
		defer zr.Close()
		src = zr
	}
	body, err := io.ReadAll(io.LimitReader(src, limit+1))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr) || int64(len(body)) > limit:
		return nil, errTooLarge
	case err != nil:
		return nil, fmt.Errorf("reading the push: %w", err)
	}
	// Logpush gzips without saying so.
	return inflate(body, limit)
}

// inflate decompresses data if it is gzip, within limit bytes: Read would
// find the magic itself, but without a bound.
func inflate(data []byte, limit int64) ([]byte, error) {
	if !bytes.HasPrefix(data, gzipMagic) {
		return data, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading gzip: %w", err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	switch {
	case int64(len(out)) > limit:
		return nil, errTooLarge
	case err != nil:
		return nil, fmt.Errorf("reading gzip: %w", err)
	}
	return out, nil
}

// refuse answers a push that could not be read; the sender will retry it,
// except one too large, which no retry can fix.
func (rv *Receiver) refuse(w http.ResponseWriter, err error, respond func(string, int)) {
	if errors.Is(err, errTooLarge) {
		respond(fmt.Sprintf("push larger than %d bytes", cmp.Or(rv.MaxBody, DefaultMaxBody)), http.StatusRequestEntityTooLarge)
		return
	}
	if rv.Sink.Window != nil {
		rv.Sink.Window.Fail()
	}
	respond(err.Error(), http.StatusBadRequest)
}

// accept checks the records of a push that was read whole.
func (rv *Receiver) accept(source string, recs []pushed) {
	for i := range recs {
		rv.Sink.Record(source, recs[i].format, &recs[i].rec)
	}
}
