package cli

import (
	"bytes"
	"context"
	"strings"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/pflag"

	"github.com/cachefence/cachefence/alert"
	"github.com/cachefence/cachefence/logs"
	"github.com/cachefence/cachefence/logs/kafka"
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
