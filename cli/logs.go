package cli

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/cachefence/cachefence/alert"
	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/logs"
	"github.com/cachefence/cachefence/probe"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "logs",
		Usage: "[--format <format>] [--follow | --listen <addr> | --kafka-brokers <host:port> --kafka-topic <topic> --kafka-group <group>] [--session-cookie <glob>]... [--private-path <pattern>]... [--account <name>=<env>]... [--webhook <url>] [--metrics <addr>] [FILE...]",
		Short: "Watch CDN access logs for personal pages served from a shared cache",
		Long: `
Reads CDN or cache access logs (files, gzip or not, or - for stdin) and
reports, record by record:
  stamp_mismatch      (critical) the response carried cache_fence's owner
                      stamp for another identity than the requester's
  cached_personal     (high) a personal response (stamped, on a private
                      path, or setting a cookie) was served from the cache
  collapse_suspected  (high) CloudFront: requesters with different
                      cookies got hits on a private path within seconds of
                      one miss

Formats (--format, or told from the first line where it can be):
  ` + strings.Join(formatList(), ", ") + `
docs/logs.md gives each CDN's log configuration.

The owner-stamp key is read from the environment variable named by
--key-env (CACHE_FENCE_KEY); give the same cookie rules as the fence.

Exit status, reading files: 0 clean, 1 findings, 2 could not run (bad
flags, unreadable input, or input mostly unparsable).

--follow tails files across rotation; --listen receives pushed logs
(POST /cloudflare, /fastly, /akamai, /firehose; the secret in the
variable named by --secret-env); --kafka-brokers reads a topic as a
member of a consumer group, committing a batch once its findings are
handed to alerting. Each runs until interrupted, posts each new finding
and each recovery once to --webhook, and serves Prometheus metrics on
--metrics.
`,
		CobraFunc: func(cmd *cobra.Command) {
			fs := cmd.Flags()
			fs.String("format", "auto", "Log format: auto, "+strings.Join(formatList(), ", "))
			fs.String("fields", "", "cloudfront-realtime: the real-time log configuration's fields, space- or comma-separated")
			addKafkaFlags(fs)
			addKinesisFlags(fs)
			fs.Bool("follow", false, "Follow the files across rotation, like tail -F, until interrupted")
			fs.String("listen", "", "Receive pushed logs on this address")
			fs.String("tls-cert", "", "--listen: serve HTTPS with this certificate file")
			fs.String("tls-key", "", "--listen: the certificate's key file")
			fs.String("secret-env", "CACHEFENCE_LOGS_SECRET", "--listen: environment variable holding the shared secret of every push")
			fs.StringArray("fastly-service", nil, "--listen: a Fastly service ID for the ownership challenge (repeatable; none answers *)")
			fs.String("key-env", "CACHE_FENCE_KEY", "Environment variable holding cache_fence's owner_stamp key")
			fs.String("stamp-header", fence.DefaultStampHeader, "The owner-stamp header, as Logpush's ResponseHeaders name it")
			fs.StringArray("session-cookie", nil, "Cookie name glob that identifies a user, as the fence's session_cookies (repeatable)")
			fs.StringArray("ignore-cookie", nil, "Cookie name glob that never identifies a user, as the fence's ignore_cookies (repeatable)")
			fs.StringArray("credential-header", nil, "A credential header, as the fence's credential_headers (repeatable; default the fence's list)")
			fs.StringArray("credential-param", nil, "A credential URL parameter, as the fence's credential_params (repeatable; default the fence's list)")
			fs.StringArray("private-path", nil, "Path pattern that is always personal, as the fence's private_paths (repeatable)")
			fs.StringArray("account", nil, "A test account, name=ENV: ENV holds its Cookie header value or its header lines (repeatable)")
			fs.Duration("collapse-window", logs.DefaultCollapseWindow, "collapse_suspected: how long after a miss hits count")
			fs.Int("max-line", logs.DefaultMaxLine, fmt.Sprintf("Longest line read, in bytes (256 to %d); longer ones are bad lines", maxMaxLine))
			fs.String("output", "text", "Findings as text, json (one object per line) or sarif (one document, after the files are read)")
			addWatchFlags(cmd, 30*time.Second, "--follow, --listen: how often to alert on what was found since")
			runCommand(cmd, probe.ExitError, func(cmd *cobra.Command, args []string) (int, error) {
				return cmdLogs(cmd.Context(), caddycmd.Flags{FlagSet: fs}, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
			})
		},
	})
}

func formatList() []string {
	names := make([]string, len(logs.Formats))
	for i, f := range logs.Formats {
		names[i] = string(f)
	}
	return names
}

// logsRun is one run of the command, as its flags configure it.
type logsRun struct {
	opts    logs.Options
	checker *logs.Checker
	out     findingsOut
	errOut  io.Writer
	// watching is set while following or listening.
	watching bool
	output   string // text, json or sarif
	// sarif holds the findings and unusable sources until the end of a
	// batch, since SARIF is one document.
	sarif       []*logs.Finding
	sarifErrors []string
	// explained are the checks whose catalogue words the text output
	// has given, once each, under their first finding.
	explained map[string]bool

	mu       sync.Mutex // serializes writes to out and errOut
	found    int
	badShown map[string]int // bad lines printed per source while watching
}

func cmdLogs(ctx context.Context, fl caddycmd.Flags, args []string, out, errOut io.Writer) (int, error) {
	run, err := newLogsRun(fl, out, errOut)
	if err != nil {
		return probe.ExitError, err
	}
	follow, listen := fl.Bool("follow"), fl.String("listen")
	from, err := brokersOf(fl)
	if err != nil {
		return probe.ExitError, err
	}
	streams := 0
	for _, on := range []bool{follow, listen != "", from.kafka != nil, from.kinesis != nil} {
		if on {
			streams++
		}
	}
	switch {
	case streams > 1:
		return probe.ExitError, errors.New("--follow, --listen, --kafka-brokers and --kinesis-stream exclude each other")
	case streams > 0 && !follow && len(args) > 0:
		return probe.ExitError, fmt.Errorf("unexpected argument %q: only --follow and a batch read files", args[0])
	case streams == 0 && len(args) == 0:
		return probe.ExitError, errors.New("no input: name files, - for stdin, --listen, --kafka-brokers or --kinesis-stream")
	case follow && slices.Contains(args, "-"):
		return probe.ExitError, errors.New("--follow reads files, not stdin")
	case run.output == "sarif" && streams > 0:
		return probe.ExitError, errors.New("--output sarif writes one document at the end, so it needs files, not a watch (--follow, --listen, --kafka-brokers, --kinesis-stream)")
	}
	if streams == 0 {
		if fl.String("webhook") != "" || fl.String("metrics") != "" {
			return probe.ExitError, errors.New("--webhook and --metrics need --follow, --listen, --kafka-brokers or --kinesis-stream")
		}
		return run.batch(args), nil
	}
	return run.watch(ctx, fl, args, from)
}

// maxMaxLine bounds --max-line, since every reader holds a buffer of it:
// Fastly caps request and response headers at 69 KB each, so a line that
// logs both, escaped, stays well under 1 MiB.
const maxMaxLine = 1 << 20

// newLogsRun checks the flags and the environment they name.
func newLogsRun(fl caddycmd.Flags, out, errOut io.Writer) (*logsRun, error) {
	format, err := logs.ParseFormat(fl.String("format"))
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	r := &logsRun{out: newFindingsOut(out), errOut: errOut, output: fl.String("output"), explained: map[string]bool{}}
	if !slices.Contains([]string{"text", "json", "sarif"}, r.output) {
		return nil, fmt.Errorf("--output %q: want text, json or sarif", r.output)
	}
	r.opts = logs.Options{Format: format, StampHeader: fl.String("stamp-header"), MaxLine: fl.Int("max-line")}
	if fields := fl.String("fields"); fields != "" {
		r.opts.Fields = strings.FieldsFunc(fields, func(c rune) bool { return c == ',' || c == ' ' })
	}
	if format == logs.CloudFrontRealtime || len(r.opts.Fields) > 0 {
		// Check --fields now, not at the first record.
		if err := logs.CheckFields(r.opts.Fields); err != nil {
			return nil, err
		}
	}
	if r.opts.MaxLine < 256 || r.opts.MaxLine > maxMaxLine {
		return nil, fmt.Errorf("--max-line %d: want 256 to %d bytes", r.opts.MaxLine, maxMaxLine)
	}
	cfg := logs.Config{CollapseWindow: fl.Duration("collapse-window")}
	if cfg.CollapseWindow <= 0 {
		return nil, errors.New("--collapse-window: must be positive")
	}
	for flag, dst := range map[string]*[]string{
		"session-cookie":    &cfg.Rules.SessionCookies,
		"ignore-cookie":     &cfg.Rules.IgnoreCookies,
		"credential-header": &cfg.Rules.CredentialHeaders,
		"credential-param":  &cfg.Rules.CredentialParams,
		"private-path":      &cfg.Rules.PrivatePaths,
	} {
		if values, _ := fl.GetStringArray(flag); len(values) > 0 {
			*dst = values
		}
	}
	if name := fl.String("key-env"); os.Getenv(name) != "" {
		cfg.Key = []byte(os.Getenv(name))
	}
	accounts, _ := fl.GetStringArray("account")
	for _, a := range accounts {
		acct, err := parseAccount(a)
		if err != nil {
			return nil, fmt.Errorf("--account: %w", err)
		}
		cfg.Accounts = append(cfg.Accounts, acct)
	}
	if r.checker, err = logs.NewChecker(cfg); err != nil {
		return nil, err
	}
	if cfg.Key == nil {
		fmt.Fprintf(errOut, "cachefence logs: $%s is not set: owner stamps are checked only against logged requester digests (Cache-Fence-Requester), and no one is named\n", fl.String("key-env"))
	}
	return r, nil
}

// parseAccount reads name=ENV. ENV holds the account's credentials: a
// Cookie header value ("session=abc"), or header lines
// ("Authorization: Bearer abc"), one per line.
func parseAccount(s string) (logs.Account, error) {
	name, env, ok := strings.Cut(s, "=")
	if !ok || name == "" || env == "" {
		return logs.Account{}, fmt.Errorf("%q: want name=ENV", s)
	}
	creds := os.Getenv(env)
	if creds == "" {
		return logs.Account{}, fmt.Errorf("%s: $%s is empty", name, env)
	}
	h := http.Header{}
	for line := range strings.Lines(creds) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.ContainsAny(k, "=; ") {
			h.Add(k, strings.TrimSpace(v))
		} else {
			h.Add("Cookie", line)
		}
	}
	return logs.Account{Name: name, Header: h}, nil
}

// batch reads every file to its end and returns the exit code.
func (r *logsRun) batch(files []string) int {
	sink := &logs.Sink{Checker: r.checker, Emit: r.emit}
	usable := true
	for _, name := range files {
		st, err := r.readFile(sink, name)
		if !r.report(name, st, err) {
			usable = false
			r.sarifErrors = append(r.sarifErrors, name+": not read or mostly unparsable")
		}
	}
	if r.output == "sarif" {
		err := logs.WriteSARIF(r.out.w, r.sarif, r.sarifErrors)
		r.flush()
		if err != nil {
			fmt.Fprintf(r.errOut, "cachefence logs: %v\n", err)
			return probe.ExitError
		}
	}
	switch {
	case r.found > 0:
		return probe.ExitFindings
	case !usable:
		return probe.ExitError
	}
	return probe.ExitClean
}

func (r *logsRun) readFile(sink *logs.Sink, name string) (logs.Stats, error) {
	if name == "-" {
		return sink.Read("stdin", os.Stdin, r.opts)
	}
	f, err := os.Open(name)
	if err != nil {
		return logs.Stats{}, err
	}
	defer f.Close()
	return sink.Read(name, f, r.opts)
}

// watch follows files or receives pushes until interrupted, alerting
// through an alert.Watcher.
func (r *logsRun) watch(ctx context.Context, fl caddycmd.Flags, files []string, from brokers) (int, error) {
	// checkWatchFlags takes no --every for no watch; here it would be a
	// ticker of nothing.
	every := durationOf(fl, "every")
	if every == 0 {
		return probe.ExitError, errors.New("--every 0s: at least 1s")
	}
	if err := checkWatchFlags(fl, every, time.Second); err != nil {
		return probe.ExitError, err
	}
	ctx, cancel := untilSignal(ctx)
	defer cancel()
	r.watching = true
	defer r.flush()
	window := &logs.Window{}
	sink := &logs.Sink{Checker: r.checker, Window: window, Emit: r.emit}
	logErr := func(err error) { fmt.Fprintln(r.errOut, "cachefence logs:", err) }
	w := &alert.Watcher{Source: "logs", Every: every, Threshold: alert.High, Check: window.Run, Log: logErr}
	stop, err := equipWatcher(fl, w, func(reg prometheus.Registerer) (err error) {
		sink.Metrics, err = logs.NewMetrics(reg)
		return err
	})
	if err != nil {
		return probe.ExitError, err
	}
	defer stop()
	var servers []*http.Server
	defer func() {
		for _, s := range servers {
			s.Close()
		}
	}()
	var wg sync.WaitGroup
	if addr := fl.String("listen"); addr != "" {
		secret := os.Getenv(fl.String("secret-env"))
		if len(secret) < 16 {
			return probe.ExitError, fmt.Errorf("--listen: $%s must hold a secret of at least 16 bytes", fl.String("secret-env"))
		}
		services, _ := fl.GetStringArray("fastly-service")
		rv := &logs.Receiver{Sink: sink, Secret: secret, Fields: r.opts.Fields, StampHeader: r.opts.StampHeader,
			FastlyServices: services, MaxLine: r.opts.MaxLine, Refused: r.refused}
		srv, err := serveOn(addr, rv.Handler(), fl.String("tls-cert"), fl.String("tls-key"))
		if err != nil {
			return probe.ExitError, fmt.Errorf("--listen: %w", err)
		}
		servers = append(servers, srv)
		scheme := "http"
		if srv.TLSConfig != nil {
			scheme = "https"
		}
		r.note("listening on %s://%s: %s", scheme, srv.Addr, strings.Join(rv.Routes(), ", "))
	}
	sink.Bad = r.badLine
	// A follower that stops before the command does (a format it cannot
	// tell, a read error) leaves its file unwatched: the whole command
	// stops, rather than run on reporting clean windows.
	stopped := make(chan error, len(files)+2)
	r.consume(ctx, cancel, from, sink, w, &wg, stopped)
	for _, name := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := logs.Follow(ctx, name, 250*time.Millisecond)
			defer src.Close()
			st, err := sink.Read(name, src, r.opts)
			if ctx.Err() != nil {
				r.report(name, st, err)
				return
			}
			stopped <- fmt.Errorf("%s: stopped following: %w", name, cmp.Or(err, io.ErrUnexpectedEOF))
			cancel()
		}()
	}
	err = w.Run(ctx)
	wg.Wait()
	select {
	case e := <-stopped:
		return probe.ExitError, e
	default:
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return probe.ExitError, err
	}
	return probe.ExitClean, nil
}

// serveOn serves h on addr, over TLS when cert and key are given, and
// returns once it listens.
func serveOn(addr string, h http.Handler, cert, key string) (*http.Server, error) {
	if (cert == "") != (key == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, err
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}}
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv.Addr = l.Addr().String() // the port chosen for ":0"
	if srv.TLSConfig != nil {
		l = tls.NewListener(l, srv.TLSConfig)
	}
	go srv.Serve(l)
	return srv, nil
}
