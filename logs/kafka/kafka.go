// Package kafka reads CDN log lines from a Kafka topic as one member of a
// consumer group, so that several processes share its partitions.
//
// Delivery is at least once: a batch's offsets are committed only after
// the handler has returned nil for it, so a line is never skipped across a
// restart or a rebalance, and a batch whose handling did not finish is
// read again, by this member or the partition's next owner.
package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	// Named apart from the tests' stream.
	logstream "github.com/cachefence/cachefence/logs/stream"
)

// Config is where to consume from, and how to log in.
type Config struct {
	// Brokers are seed brokers, host:port.
	Brokers []string
	// Topic is read as a member of Group, whose committed offsets say
	// where each partition resumes.
	Topic, Group string
	// TLS, if not nil, encrypts the connections.
	TLS *tls.Config
	// SASL, if its Mechanism is set, logs in.
	SASL SASL
	// MaxRecords bounds the Kafka records in a batch (a record may hold
	// several lines). Zero means DefaultMaxRecords.
	MaxRecords int
	// SessionTimeout is how long the group waits for a member that stopped
	// answering (killed, cut off) before its partitions move to the others.
	// Zero means kgo's default, 45s, Kafka's own. Brokers bound it (by
	// default 6s to 30m: group.min.session.timeout.ms and
	// group.max.session.timeout.ms).
	SessionTimeout time.Duration

	// opts are more client options, for tests.
	opts []kgo.Opt
}

// DefaultMaxRecords bounds a batch: large enough to amortise a commit,
// small enough to be handled well within the group's rebalance timeout,
// which a batch in hand delays.
const DefaultMaxRecords = 10000

// SASL mechanisms.
const (
	Plain       = "PLAIN"
	ScramSHA256 = "SCRAM-SHA-256"
	ScramSHA512 = "SCRAM-SHA-512"
)

// Mechanisms are the SASL mechanisms supported.
var Mechanisms = []string{Plain, ScramSHA256, ScramSHA512}

// SASL is a SASL login. Its Password is never printed: String and
// GoString leave it out.
type SASL struct {
	Mechanism, User, Password string
}

// String names the mechanism and user, never the password.
func (s SASL) String() string {
	if s.Mechanism == "" {
		return "none"
	}
	return s.Mechanism + " as " + strconv.Quote(s.User)
}

// GoString is String, so that %#v leaves the password out too.
func (s SASL) GoString() string { return s.String() }

func (s SASL) mechanism() (sasl.Mechanism, error) {
	switch s.Mechanism {
	case Plain:
		return plain.Auth{User: s.User, Pass: s.Password}.AsMechanism(), nil
	case ScramSHA256:
		return scram.Auth{User: s.User, Pass: s.Password}.AsSha256Mechanism(), nil
	case ScramSHA512:
		return scram.Auth{User: s.User, Pass: s.Password}.AsSha512Mechanism(), nil
	}
	return nil, badMechanism(s.Mechanism)
}

func badMechanism(m string) error {
	return fmt.Errorf("SASL mechanism %q: allowed are %s, %s and %s", m, Plain, ScramSHA256, ScramSHA512)
}

// Record is one log line read from Kafka.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	// Line is the line's number in the Kafka record's value, from 1: a
	// value may hold several lines.
	Line int
	// Text is the line, without its line break; never empty.
	Text []byte
}

// Source names where the record came from, as "kafka:topic/partition:offset".
func (r *Record) Source() string {
	return "kafka:" + r.Topic + "/" + strconv.FormatInt(int64(r.Partition), 10) + ":" + strconv.FormatInt(r.Offset, 10)
}

// Join returns the batch's lines, each ended by a newline, as one log to
// read: its line n (from 1) is batch[n-1].
func Join(batch []Record) []byte {
	return logstream.Join(batch, func(r *Record) []byte { return r.Text })
}

// Consume reads cfg.Topic as a member of cfg.Group until ctx is done or
// handle fails, and calls handle with each batch of lines, in offset order
// within each partition. Batches are handled one at a time; handle must
// not keep the batch, whose slice is reused.
//
// A batch's offsets are committed once handle returns nil for it; a batch
// that handle fails is not committed, and Consume returns handle's error.
// While a batch is in hand the group cannot rebalance: the member holds its
// partitions until the batch is handled and committed, so a partition moves
// to another member only at a committed offset. A member that dies with a
// batch in hand (or fails it) leaves that batch to be read again by the
// partition's next owner: those lines are the only ones handled twice.
// When ctx is done, the batch in hand is committed if handle returned nil
// for it, within a few seconds, and Consume returns nil.
//
// A failed commit ends Consume with the error: that batch will be read
// again after a restart.
func Consume(ctx context.Context, cfg Config, handle func(ctx context.Context, batch []Record) error) error {
	if len(cfg.Brokers) == 0 || cfg.Topic == "" || cfg.Group == "" {
		return errors.New("kafka: brokers, a topic and a group are needed")
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topic),
		// A group new to the topic starts at its oldest line: at least
		// once includes what was written before the first member came.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		// Revocation waits for the batch in hand: each batch is committed
		// before the next poll, so a revoked partition's handled lines are
		// all committed when it moves and no OnPartitionsRevoked commit is
		// needed (without autocommit, kgo's default revoke commits nothing).
		kgo.BlockRebalanceOnPoll(),
	}
	if cfg.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(cfg.TLS))
	}
	if cfg.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(cfg.SessionTimeout))
	}
	if cfg.SASL.Mechanism != "" {
		m, err := cfg.SASL.mechanism()
		if err != nil {
			return err
		}
		opts = append(opts, kgo.SASL(m))
	}
	cl, err := kgo.NewClient(append(opts, cfg.opts...)...)
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	// The poll's block is released before leaving the group, which
	// revokes the partitions.
	defer cl.CloseAllowingRebalance()
	// Polls retry a failed connection or login for ever: say at once that
	// the brokers cannot be reached or refuse the login, rather than wait.
	if err := cl.Ping(ctx); err != nil && ctx.Err() == nil {
		return fmt.Errorf("kafka: connecting to %s: %w", strings.Join(cfg.Brokers, ","), err)
	}
	maxRecords := cfg.MaxRecords
	if maxRecords <= 0 {
		maxRecords = DefaultMaxRecords
	}
	var batch []Record
	for {
		fetches := cl.PollRecords(ctx, maxRecords)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		if err := fetchError(fetches); err != nil {
			return err
		}
		recs := fetches.Records()
		batch = batch[:0]
		for _, r := range recs {
			batch = appendLines(batch, r)
		}
		if len(batch) > 0 {
			if err := handle(ctx, batch); err != nil {
				return err
			}
		}
		if err := commit(ctx, cl, recs); err != nil {
			return err
		}
		cl.AllowRebalance()
	}
}

// commitGrace is how long a commit may go on after ctx is done, so that
// a stop does not leave a handled batch to be read again.
const commitGrace = 5 * time.Second

// commit commits recs, handled.
func commit(ctx context.Context, cl *kgo.Client, recs []*kgo.Record) error {
	if len(recs) == 0 {
		return nil
	}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	defer context.AfterFunc(ctx, func() { time.AfterFunc(commitGrace, cancel) })()
	if err := cl.CommitRecords(cctx, recs...); err != nil {
		return fmt.Errorf("kafka: committing offsets: %w", err)
	}
	return nil
}

// fetchError returns the first error of fetches that consuming does not
// get over by itself. kgo retries what is retriable and reports the rest,
// such as a failed login or an unauthorised topic.
func fetchError(fetches kgo.Fetches) error {
	for _, fe := range fetches.Errors() {
		if errors.Is(fe.Err, context.Canceled) || errors.Is(fe.Err, context.DeadlineExceeded) {
			continue
		}
		if fe.Topic == "" {
			return fmt.Errorf("kafka: %w", fe.Err)
		}
		return fmt.Errorf("kafka: %s/%d: %w", fe.Topic, fe.Partition, fe.Err)
	}
	return nil
}

// appendLines appends r's lines: vendors put one line or a batch of
// lines in a record.
func appendLines(batch []Record, r *kgo.Record) []Record {
	for n, line := range logstream.Lines(r.Value) {
		batch = append(batch, Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Line: n, Text: line})
	}
	return batch
}
