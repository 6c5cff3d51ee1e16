package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Flags are the command line's Kafka settings. Config turns them into a
// Config; the SASL password comes only from the environment, so that it is
// never in a command line, a process list or a shell history.
type Flags struct {
	// Brokers are host:port, each possibly a comma-separated list.
	Brokers      []string
	Topic, Group string
	// TLS turns TLS on with the system's roots; CAFile, CertFile and
	// InsecureSkipVerify turn it on too.
	TLS bool
	// CAFile holds the PEM certificates the brokers' are checked against,
	// instead of the system's roots.
	CAFile string
	// CertFile and KeyFile, PEM, are a client certificate (mutual TLS).
	CertFile, KeyFile string
	// InsecureSkipVerify accepts any broker certificate.
	InsecureSkipVerify bool
	// SASLMechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (any case);
	// empty, no login.
	SASLMechanism, SASLUser string
	// PasswordEnv names the environment variable that holds the SASL
	// password.
	PasswordEnv string
	// SessionTimeout is Config.SessionTimeout; zero keeps the default.
	SessionTimeout time.Duration
}

// DefaultPasswordEnv is the variable the SASL password is read from
// unless another is named.
const DefaultPasswordEnv = "CACHEFENCE_KAFKA_PASSWORD"

// Config checks f and builds its Config, reading the password from the
// environment with getenv (os.LookupEnv if nil). Errors name the flag at
// fault and never hold the password.
func (f Flags) Config(getenv func(string) (string, bool)) (Config, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	var c Config
	for _, list := range f.Brokers {
		for b := range strings.SplitSeq(list, ",") {
			if b = strings.TrimSpace(b); b == "" {
				continue
			}
			if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
				return Config{}, fmt.Errorf("--kafka-brokers: %q is not host:port", b)
			}
			c.Brokers = append(c.Brokers, b)
		}
	}
	switch {
	case len(c.Brokers) == 0:
		return Config{}, errors.New("--kafka-brokers: give at least one broker, host:port")
	case f.Topic == "":
		return Config{}, errors.New("--kafka-topic is needed")
	case f.Group == "":
		return Config{}, errors.New("--kafka-group is needed: the group's committed offsets are where a restart resumes")
	}
	c.Topic, c.Group = f.Topic, f.Group
	if f.SessionTimeout != 0 && (f.SessionTimeout < time.Second || f.SessionTimeout > 30*time.Minute) {
		return Config{}, fmt.Errorf("--kafka-session-timeout %s: want 1s to 30m (brokers allow 6s to 30m unless configured otherwise)", f.SessionTimeout)
	}
	c.SessionTimeout = f.SessionTimeout
	var err error
	if c.TLS, err = f.tlsConfig(); err != nil {
		return Config{}, err
	}
	if c.SASL, err = f.sasl(getenv, c.TLS != nil); err != nil {
		return Config{}, err
	}
	return c, nil
}

func (f Flags) tlsConfig() (*tls.Config, error) {
	if !f.TLS && f.CAFile == "" && f.CertFile == "" && f.KeyFile == "" && !f.InsecureSkipVerify {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: f.InsecureSkipVerify}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--kafka-ca: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--kafka-ca: no PEM certificate in %s", f.CAFile)
		}
	}
	if (f.CertFile == "") != (f.KeyFile == "") {
		return nil, errors.New("--kafka-cert and --kafka-key go together")
	}
	if f.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("--kafka-cert/--kafka-key: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

func (f Flags) sasl(getenv func(string) (string, bool), tls bool) (SASL, error) {
	if f.SASLMechanism == "" {
		if f.SASLUser != "" {
			return SASL{}, errors.New("--kafka-user needs --kafka-sasl")
		}
		return SASL{}, nil
	}
	s := SASL{Mechanism: strings.ToUpper(f.SASLMechanism), User: f.SASLUser}
	if _, err := s.mechanism(); err != nil {
		return SASL{}, fmt.Errorf("--kafka-sasl: %w", err)
	}
	if s.User == "" {
		return SASL{}, fmt.Errorf("--kafka-sasl %s needs --kafka-user", s.Mechanism)
	}
	if s.Mechanism == Plain && !tls {
		return SASL{}, errors.New("--kafka-sasl PLAIN sends the password in clear: add --kafka-tls, or use SCRAM")
	}
	env := f.PasswordEnv
	if env == "" {
		env = DefaultPasswordEnv
	}
	// Only the variable's name is ever in an error.
	pass, ok := getenv(env)
	if !ok || pass == "" {
		return SASL{}, fmt.Errorf("--kafka-sasl: $%s, which holds the password, is not set", env)
	}
	s.Password = pass
	return s, nil
}
