package cli

import (
	"bytes"
	"cmp"
	"context"
	"strings"
	"sync"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/pflag"

	"github.com/cachefence/cachefence/alert"
	"github.com/cachefence/cachefence/logs"
	"github.com/cachefence/cachefence/logs/kafka"
	"github.com/cachefence/cachefence/logs/kinesis"
)

// addKafkaFlags adds the flags of `logs` that read from Kafka.
func addKafkaFlags(fs *pflag.FlagSet) {
	fs.StringArray("kafka-brokers", nil, "Read from Kafka: seed brokers, host:port (repeatable or comma-separated)")
	fs.String("kafka-topic", "", "Kafka: the topic the CDN's logs are delivered to")
	fs.String("kafka-group", "", "Kafka: the consumer group; processes in one group share the partitions")
	fs.Bool("kafka-tls", false, "Kafka: connect over TLS, checked against the system's roots")
	fs.String("kafka-ca", "", "Kafka: check the brokers' certificates against this PEM file (implies --kafka-tls)")
	fs.String("kafka-cert", "", "Kafka: client certificate, PEM (with --kafka-key)")
	fs.String("kafka-key", "", "Kafka: the client certificate's key, PEM")
	fs.Bool("kafka-insecure-skip-verify", false, "Kafka: accept any broker certificate (tests only)")
	fs.String("kafka-sasl", "", "Kafka: SASL mechanism: "+kafka.Plain+" (with TLS), "+kafka.ScramSHA256+" or "+kafka.ScramSHA512)
	fs.String("kafka-user", "", "Kafka: the SASL user")
	fs.String("kafka-password-env", kafka.DefaultPasswordEnv, "Kafka: environment variable holding the SASL password")
	fs.Duration("kafka-session-timeout", 0, "Kafka: how long the group waits for a member that stopped answering before moving its partitions (default 45s)")
}

// brokers are the broker sources the flags name; nil, not read.
type brokers struct {
	kafka   *kafka.Config
	kinesis *kinesis.Config
}

// brokersOf reads the Kafka and Kinesis flags.
func brokersOf(fl caddycmd.Flags) (brokers, error) {
	var b brokers
	kc, ok, err := kafkaConfig(fl)
	if err != nil {
		return b, err
	}
	if ok {
		b.kafka = &kc
	}
	ks, ok, err := kinesisConfig(fl)
	if err != nil {
		return b, err
	}
	if ok {
		b.kinesis = &ks
	}
	return b, nil
}

// consume reads every broker source of b into sink until ctx ends, each
// in its own goroutine counted in wg; one that fails sends its error on
// stopped and cancels the command: a source that stopped must not leave
// the watcher reporting clean runs.
func (r *logsRun) consume(ctx context.Context, cancel context.CancelFunc, b brokers, sink *logs.Sink, w *alert.Watcher, wg *sync.WaitGroup, stopped chan<- error) {
	var run []func() error
	if b.kafka != nil {
		run = append(run, func() error { return r.consumeKafka(ctx, *b.kafka, sink, w) })
	}
	if b.kinesis != nil {
		run = append(run, func() error { return r.consumeKinesis(ctx, *b.kinesis, sink, w) })
	}
	for _, f := range run {
		wg.Go(func() {
			if err := f(); err != nil && ctx.Err() == nil {
				stopped <- err
				cancel()
			}
		})
	}
}

// kafkaConfig reads the Kafka flags; ok is false when none is set.
func kafkaConfig(fl caddycmd.Flags) (cfg kafka.Config, ok bool, err error) {
	brokers, _ := fl.GetStringArray("kafka-brokers")
	f := kafka.Flags{Brokers: brokers, Topic: fl.String("kafka-topic"), Group: fl.String("kafka-group"),
		TLS: fl.Bool("kafka-tls"), CAFile: fl.String("kafka-ca"), CertFile: fl.String("kafka-cert"), KeyFile: fl.String("kafka-key"),
		InsecureSkipVerify: fl.Bool("kafka-insecure-skip-verify"),
		SASLMechanism:      fl.String("kafka-sasl"), SASLUser: fl.String("kafka-user"), PasswordEnv: fl.String("kafka-password-env"),
		SessionTimeout: fl.Duration("kafka-session-timeout")}
	if !anyFlagChanged(fl, "kafka-") {
		return kafka.Config{}, false, nil
	}
	cfg, err = f.Config(nil)
	return cfg, true, err
}

// addKinesisFlags adds the flags of `logs` that read from Kinesis.
func addKinesisFlags(fs *pflag.FlagSet) {
	fs.String("kinesis-stream", "", "Read CloudFront real-time logs from this Kinesis data stream (credentials: the AWS SDK's standard chain)")
	fs.String("kinesis-region", "", "Kinesis: the stream's region (default: AWS_REGION or the shared config)")
	fs.String("kinesis-endpoint", "", "Kinesis: an endpoint URL instead of the region's (a VPC endpoint)")
	fs.String("kinesis-checkpoint", "", "Kinesis: file keeping each shard's position (default cachefence-kinesis-STREAM.json, -IofN.json with --kinesis-shards)")
	fs.Duration("kinesis-poll", kinesis.DefaultPoll, "Kinesis: wait between two reads of a shard that is not behind (at least 200ms)")
	fs.Bool("kinesis-latest", false, "Kinesis: start shards without a checkpoint at their newest record, not their oldest kept")
	fs.String("kinesis-shards", "", "Kinesis: I/N, read only part I (from 0) of N of the shards; each part has its own checkpoint")
}

// kinesisConfig reads the Kinesis flags; ok is false when none is set.
func kinesisConfig(fl caddycmd.Flags) (cfg kinesis.Config, ok bool, err error) {
	if !anyFlagChanged(fl, "kinesis-") {
		return kinesis.Config{}, false, nil
	}
	cfg, err = kinesis.Flags{Stream: fl.String("kinesis-stream"), Region: fl.String("kinesis-region"),
		Endpoint: fl.String("kinesis-endpoint"), Checkpoint: fl.String("kinesis-checkpoint"),
		Poll: fl.Duration("kinesis-poll"), Latest: fl.Bool("kinesis-latest"), Shards: fl.String("kinesis-shards")}.Config()
	return cfg, true, err
}

// anyFlagChanged reports whether a flag whose name starts with prefix was
// given.
func anyFlagChanged(fl caddycmd.Flags, prefix string) bool {
	changed := false
	fl.Visit(func(f *pflag.Flag) {
		if strings.HasPrefix(f.Name, prefix) {
			changed = true
		}
	})
	return changed
}

// streamBatch checks a batch of lines that a stream source (Kafka,
// Kinesis) read, joined in data, naming each finding and bad line by
// origin. It returns once the batch's findings are printed and handed to
// the watcher's alerting: only then may the source acknowledge the batch,
// so that a crash never loses an alert, only repeats one.
func (r *logsRun) streamBatch(ctx context.Context, sink *logs.Sink, w *alert.Watcher, data []byte, origin func(n int64) (string, int64)) error {
	s := *sink
	s.Origin = origin
	found := false
	s.Emit = func(f *logs.Finding) {
		found = true
		r.emit(f)
	}
	if _, err := s.Read("stream", bytes.NewReader(data), r.opts); err != nil {
		return err
	}
	if !found {
		return nil
	}
	r.flush()
	return w.RunNow(ctx)
}

// consumeKafka reads cfg's topic into sink until ctx ends.
func (r *logsRun) consumeKafka(ctx context.Context, cfg kafka.Config, sink *logs.Sink, w *alert.Watcher) error {
	tlsOn := "off"
	if cfg.TLS != nil {
		tlsOn = "on"
	}
	r.note("reading Kafka topic %s as a member of group %s from %s (TLS %s, SASL %s)", cfg.Topic, cfg.Group, strings.Join(cfg.Brokers, ","), tlsOn, cfg.SASL)
	return kafka.Consume(ctx, cfg, func(ctx context.Context, batch []kafka.Record) error {
		return r.streamBatch(ctx, sink, w, kafka.Join(batch), func(n int64) (string, int64) {
			rec := &batch[n-1]
			return rec.Source(), int64(rec.Line)
		})
	})
}

// consumeKinesis reads cfg's stream into sink until ctx ends.
func (r *logsRun) consumeKinesis(ctx context.Context, cfg kinesis.Config, sink *logs.Sink, w *alert.Watcher) error {
	r.note("reading Kinesis stream %s, positions kept in %s", cfg.Stream, cmp.Or(cfg.Checkpoint, kinesis.DefaultCheckpoint(cfg.Stream, cfg.Part, cfg.Parts)))
	return kinesis.Consume(ctx, cfg, func(ctx context.Context, batch []kinesis.Record) error {
		return r.streamBatch(ctx, sink, w, kinesis.Join(batch), func(n int64) (string, int64) {
			rec := &batch[n-1]
			return rec.Source(), int64(rec.Line)
		})
	})
}
