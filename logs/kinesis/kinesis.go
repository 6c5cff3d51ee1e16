// Package kinesis reads CDN log lines, CloudFront real-time logs above
// all, from a Kinesis data stream: every shard, resharding followed
// (a shard's children after its end), each shard's position kept in a
// local checkpoint file.
//
// Delivery is at least once: a shard's position is checkpointed only
// after the handler has returned nil for the batch that reached it, so a
// restart reads again at most the batch that was in hand.
//
// Several consumers split a stream's shards by a hash of each shard's ID
// (Config.Part of Config.Parts), each with its own checkpoint file. The
// owner of a shard depends on its ID alone, which never changes: a shard
// never moves from one consumer to another, even when its parents expire
// from the stream. A consumer reads a child of its own parent after that
// parent's end is in its checkpoint; a child whose parent another
// consumer reads waits only until that parent is closed, since the
// parent's progress is in the other consumer's file. Lines of one
// consumer are thus in order along each lineage it reads; across
// consumers there is no order, nor any need of one: each consumer has its
// own handler and its own state.
package kinesis

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/cachefence/cachefence/internal/ctxsleep"
	"github.com/cachefence/cachefence/logs/stream"
)

// MinPoll is the shortest wait between two GetRecords calls on a shard:
// Kinesis allows 5 a second per shard, shared by all its readers.
const MinPoll = 200 * time.Millisecond

// DefaultPoll is the wait between two GetRecords calls on a shard that is
// not behind. One call returns up to 10 MB and a shard takes in at most
// 1 MB/s, so a call a second keeps up; a shard that is behind is read
// every MinPoll until it catches up.
const DefaultPoll = time.Second

// maxBackoff bounds the wait after Kinesis throttles a call.
const maxBackoff = 10 * time.Second

// relistEvery is how often the shards are listed again: the children of
// a shard that another consumer reads appear only there.
const relistEvery = time.Minute

// latestSkew is how far before its own clock a consumer started with
// Latest reads again when its first iterator expired before it handled
// anything: arrival times are Kinesis's clock, not this machine's.
const latestSkew = time.Minute

// Config says which stream to read, and how.
type Config struct {
	// Stream is the stream's name.
	Stream string
	// Region is the stream's region; empty, the SDK's (AWS_REGION, the
	// shared config file).
	Region string
	// Endpoint, if set, replaces the regional endpoint (a VPC endpoint).
	Endpoint string
	// Checkpoint is the file that keeps each shard's position; empty,
	// DefaultCheckpoint's.
	Checkpoint string
	// Poll is the wait between two GetRecords calls on a shard that is
	// not behind: zero is DefaultPoll; less than MinPoll is an error.
	Poll time.Duration
	// Latest starts a shard that has no checkpoint at its newest record
	// (LATEST) rather than its oldest kept (TRIM_HORIZON).
	Latest bool
	// Part and Parts split the shards between Parts consumers: this one
	// reads the shards whose ID hashes to Part modulo Parts. Parts 0 or
	// 1 reads every shard.
	Part, Parts int

	// opts are more client options, and sleep waits d or until ctx is
	// done: tests set both.
	opts  []func(*sdk.Options)
	sleep func(ctx context.Context, d time.Duration) error
}

// DefaultCheckpoint is the checkpoint file, in the working directory, of
// a stream (and of a part of its shards when parts > 1).
func DefaultCheckpoint(stream string, part, parts int) string {
	if parts > 1 {
		return fmt.Sprintf("cachefence-kinesis-%s-%dof%d.json", stream, part, parts)
	}
	return "cachefence-kinesis-" + stream + ".json"
}

// Record is one log line read from a stream.
type Record struct {
	Stream, Shard string
	// Sequence is the Kinesis record's sequence number.
	Sequence string
	// Line is the line's number in the Kinesis record's data, from 1:
	// CloudFront puts one line in a record, other producers may batch.
	Line int
	// Text is the line, without its line break; never empty.
	Text []byte
}

// Source names where the record came from, as
// "kinesis:stream/shard:sequence".
func (r *Record) Source() string {
	return "kinesis:" + r.Stream + "/" + r.Shard + ":" + r.Sequence
}

// Join returns the batch's lines, each ended by a newline, as one log to
// read: its line n (from 1) is batch[n-1].
func Join(batch []Record) []byte {
	return stream.Join(batch, func(r *Record) []byte { return r.Text })
}

// Consume reads cfg.Stream's shards (this consumer's part of them) until
// ctx is done or an error, and calls handle with the lines of each
// GetRecords batch, in sequence order within a shard. Batches are handled
// one at a time, whatever their shard; handle must not keep the batch,
// whose slice is reused.
//
// A shard's position is checkpointed once handle returns nil for its
// batch; when handle fails, Consume returns its error and a restart reads
// that batch again. A closed shard is read to its end, which is
// checkpointed, before its children, and never read again; the
// checkpoints of shards that expired from the stream are dropped.
// Throttled calls are retried after a growing wait, with jitter, up to
// 10 s; an expired iterator is replaced by one after the last record
// handled.
//
// Credentials are the SDK's standard chain (environment, shared files,
// SSO, container or instance role). Consume returns nil when ctx is done.
func Consume(ctx context.Context, cfg Config, handle func(ctx context.Context, batch []Record) error) error {
	if cfg.Stream == "" {
		return errors.New("kinesis: no stream given")
	}
	switch {
	case cfg.Poll == 0:
		cfg.Poll = DefaultPoll
	case cfg.Poll < MinPoll:
		return fmt.Errorf("kinesis: poll %v is below %v: Kinesis allows 5 GetRecords calls a second per shard", cfg.Poll, MinPoll)
	}
	cfg.Parts = max(cfg.Parts, 1)
	if cfg.Part < 0 || cfg.Part >= cfg.Parts {
		return fmt.Errorf("kinesis: part %d of %d: parts are numbered from 0", cfg.Part, cfg.Parts)
	}
	if cfg.Checkpoint == "" {
		cfg.Checkpoint = DefaultCheckpoint(cfg.Stream, cfg.Part, cfg.Parts)
	}
	if cfg.sleep == nil {
		cfg.sleep = ctxsleep.Sleep
	}
	cp, err := loadCheckpoint(cfg.Checkpoint, cfg.Stream, cfg.Part, cfg.Parts)
	if err != nil {
		return err
	}
	api, err := newClient(ctx, cfg)
	if err != nil {
		return err
	}
	c := &consumer{cfg: cfg, api: api, handle: handle, cp: cp}
	if err := c.run(ctx); ctx.Err() == nil {
		return err
	}
	return nil
}

// newClient builds a client from the SDK's standard credential chain.
// The SDK retries throttled calls a few times itself; its client-side
// retry quota is off, since a quota spent would turn throttling into an
// error that ends Consume, where Consume's own backoff waits it out.
func newClient(ctx context.Context, cfg Config) (*sdk.Client, error) {
	var load []func(*config.LoadOptions) error
	if cfg.Region != "" {
		load = append(load, config.WithRegion(cfg.Region))
	}
	ac, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("kinesis: loading the AWS configuration: %w", err)
	}
	if ac.Region == "" {
		return nil, errors.New("kinesis: no region: give --kinesis-region or set AWS_REGION")
	}
	ac.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.RateLimiter = ratelimit.None })
	}
	opts := []func(*sdk.Options){func(o *sdk.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	}}
	return sdk.NewFromConfig(ac, append(opts, cfg.opts...)...), nil
}

type consumer struct {
	cfg    Config
	api    *sdk.Client
	handle func(context.Context, []Record) error
	cp     *checkpoint

	// mu serialises handling and checkpointing across shards; batch is
	// the batch in hand, reused.
	mu    sync.Mutex
	batch []Record
}

type shardDone struct {
	id  string
	err error
}

// run reads each shard that is ready in a goroutine of its own, and
// lists the shards again when one ends and every relistEvery.
func (c *consumer) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// Deferred calls run last first: the readers are told to stop, then
	// waited for.
	defer wg.Wait()
	defer cancel()
	done := make(chan shardDone)
	relist := make(chan struct{}, 1)
	wg.Go(func() {
		for c.cfg.sleep(ctx, relistEvery) == nil {
			select {
			case relist <- struct{}{}:
			default:
			}
		}
	})
	running := map[string]bool{}
	for {
		shards, err := c.list(ctx)
		if err != nil {
			return err
		}
		if err := c.cp.prune(shards); err != nil {
			return err
		}
		for _, id := range c.ready(shards, running) {
			running[id] = true
			wg.Go(func() {
				err := c.read(ctx, id)
				select {
				case done <- shardDone{id, err}:
				case <-ctx.Done():
				}
			})
		}
		select {
		case d := <-done:
			if d.err != nil {
				return d.err
			}
			delete(running, d.id)
		case <-relist:
		case <-ctx.Done():
			return nil
		}
	}
}

// ready returns the shards to start reading: this consumer's, not being
// read, not read to their end, and whose parents are done with. A parent
// is done with when it expired from the stream, when this consumer read
// it to its end, or, when another consumer reads it, once it is closed
// (see the package doc).
func (c *consumer) ready(shards []types.Shard, running map[string]bool) []string {
	byID := make(map[string]types.Shard, len(shards))
	for _, s := range shards {
		byID[aws.ToString(s.ShardId)] = s
	}
	parentDone := func(id *string) bool {
		if id == nil {
			return true
		}
		p, listed := byID[*id]
		switch {
		case !listed:
			return true
		case c.mine(*id):
			return c.cp.ended(*id)
		}
		return p.SequenceNumberRange != nil && p.SequenceNumberRange.EndingSequenceNumber != nil
	}
	var out []string
	for _, s := range shards {
		id := aws.ToString(s.ShardId)
		if c.mine(id) && !running[id] && !c.cp.ended(id) && parentDone(s.ParentShardId) && parentDone(s.AdjacentParentShardId) {
			out = append(out, id)
		}
	}
	return out
}

// mine reports whether this consumer reads shard id.
func (c *consumer) mine(id string) bool {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32()%uint32(c.cfg.Parts)) == c.cfg.Part
}

// list reads every page of the stream's shards: ListShards lists the
// open ones and the closed ones not yet expired.
func (c *consumer) list(ctx context.Context) ([]types.Shard, error) {
	var shards []types.Shard
	// The first page is asked for by the stream's name, the next ones by
	// the token alone: Kinesis refuses both.
	in := &sdk.ListShardsInput{StreamName: aws.String(c.cfg.Stream)}
	for {
		var out *sdk.ListShardsOutput
		err := c.retry(ctx, func() (err error) {
			out, err = c.api.ListShards(ctx, in)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("kinesis: listing the shards of %s: %w", c.cfg.Stream, err)
		}
		shards = append(shards, out.Shards...)
		if aws.ToString(out.NextToken) == "" {
			return shards, nil
		}
		in = &sdk.ListShardsInput{NextToken: out.NextToken}
	}
}

// read reads a shard until its end (nil), ctx is done, or an error.
func (c *consumer) read(ctx context.Context, shard string) error {
	var since time.Time
	it, err := c.iterator(ctx, shard, &since)
	for err == nil {
		var out *sdk.GetRecordsOutput
		err = c.retry(ctx, func() (err error) {
			out, err = c.api.GetRecords(ctx, &sdk.GetRecordsInput{ShardIterator: it})
			return err
		})
		if expired := (*types.ExpiredIteratorException)(nil); errors.As(err, &expired) {
			// An iterator lasts 5 minutes: handling other shards' batches
			// outlasted it. Read on after the last record handled.
			it, err = c.iterator(ctx, shard, &since)
			continue
		}
		if err != nil {
			return fmt.Errorf("kinesis: reading %s/%s: %w", c.cfg.Stream, shard, err)
		}
		end := out.NextShardIterator == nil
		if err := c.deliver(ctx, shard, out.Records, end); err != nil {
			return err
		}
		if end {
			return nil
		}
		it = out.NextShardIterator
		wait := c.cfg.Poll
		if len(out.Records) > 0 && aws.ToInt64(out.MillisBehindLatest) > 0 {
			wait = MinPoll
		}
		err = c.cfg.sleep(ctx, wait)
	}
	return err
}

// iterator returns an iterator after the shard's checkpoint; without one,
// at the shard's oldest record, or its newest with cfg.Latest. since is
// when this reader first asked for the newest: an iterator that expired
// before anything was handled is replaced by one from then, not by a
// newer LATEST, which would skip what came in between.
func (c *consumer) iterator(ctx context.Context, shard string, since *time.Time) (*string, error) {
	in := &sdk.GetShardIteratorInput{StreamName: aws.String(c.cfg.Stream), ShardId: aws.String(shard),
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
	switch seq := c.cp.seq(shard); {
	case seq != "":
		in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(seq)
	case c.cfg.Latest && since.IsZero():
		in.ShardIteratorType, *since = types.ShardIteratorTypeLatest, time.Now().Add(-latestSkew)
	case c.cfg.Latest:
		in.ShardIteratorType, in.Timestamp = types.ShardIteratorTypeAtTimestamp, aws.Time(*since)
	}
	var out *sdk.GetShardIteratorOutput
	err := c.retry(ctx, func() (err error) {
		out, err = c.api.GetShardIterator(ctx, in)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("kinesis: iterator of %s/%s: %w", c.cfg.Stream, shard, err)
	}
	return out.ShardIterator, nil
}

// deliver hands the lines of one GetRecords batch to handle, then
// checkpoints the shard at the batch's last record, and its end if end.
func (c *consumer) deliver(ctx context.Context, shard string, recs []types.Record, end bool) error {
	if len(recs) == 0 && !end {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batch = c.batch[:0]
	for _, r := range recs {
		seq := aws.ToString(r.SequenceNumber)
		for n, line := range stream.Lines(r.Data) {
			c.batch = append(c.batch, Record{Stream: c.cfg.Stream, Shard: shard, Sequence: seq, Line: n, Text: line})
		}
	}
	if len(c.batch) > 0 {
		if err := c.handle(ctx, c.batch); err != nil {
			return err
		}
	}
	seq := c.cp.seq(shard)
	if len(recs) > 0 {
		seq = aws.ToString(recs[len(recs)-1].SequenceNumber)
	}
	return c.cp.set(shard, seq, end)
}

// retry calls f again while Kinesis throttles it, after a wait that
// doubles from Poll up to maxBackoff, half of it random so that the
// shards' readers do not retry in step.
func (c *consumer) retry(ctx context.Context, f func() error) error {
	wait := c.cfg.Poll
	for {
		err := f()
		if !throttled(err) {
			return err
		}
		if err := c.cfg.sleep(ctx, wait/2+rand.N(wait/2+1)); err != nil {
			return err
		}
		wait = min(2*wait, maxBackoff)
	}
}

func throttled(err error) bool {
	var pt *types.ProvisionedThroughputExceededException
	var le *types.LimitExceededException
	return errors.As(err, &pt) || errors.As(err, &le)
}
