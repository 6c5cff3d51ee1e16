package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

const testPassword = "s3cret-kafka-password"

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestFlagsConfig(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	writePEM(t, ca, "CERTIFICATE", newCA(t).cert.Raw)
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := Flags{Brokers: []string{"k1:9092, k2:9093", "k3:9094"}, Topic: "cdn", Group: "cachefence"}
	withEnv := env(map[string]string{DefaultPasswordEnv: testPassword, "OTHER": "other-password"})
	for _, tc := range []struct {
		name string
		edit func(*Flags)
		// err is part of the error; empty, no error.
		err   string
		check func(*testing.T, Config)
	}{
		{name: "plain text", edit: func(*Flags) {}, check: func(t *testing.T, c Config) {
			if strings.Join(c.Brokers, " ") != "k1:9092 k2:9093 k3:9094" || c.TLS != nil || c.SASL.Mechanism != "" {
				t.Errorf("%v", c)
			}
		}},
		{name: "no broker", edit: func(f *Flags) { f.Brokers = []string{" , "} }, err: "--kafka-brokers: give at least one"},
		{name: "broker without port", edit: func(f *Flags) { f.Brokers = []string{"k1"} }, err: `"k1" is not host:port`},
		{name: "no topic", edit: func(f *Flags) { f.Topic = "" }, err: "--kafka-topic is needed"},
		{name: "no group", edit: func(f *Flags) { f.Group = "" }, err: "--kafka-group is needed"},
		{name: "scram", edit: func(f *Flags) { f.SASLMechanism, f.SASLUser = "scram-sha-512", "cdn" }, check: func(t *testing.T, c Config) {
			if c.SASL != (SASL{ScramSHA512, "cdn", testPassword}) {
				t.Errorf("%v", c.SASL)
			}
		}},
		{name: "password from the named variable", edit: func(f *Flags) { f.SASLMechanism, f.SASLUser, f.PasswordEnv = ScramSHA256, "cdn", "OTHER" },
			check: func(t *testing.T, c Config) {
				if c.SASL.Password != "other-password" {
					t.Error("password not from $OTHER")
				}
			}},
		{name: "unset password variable", edit: func(f *Flags) { f.SASLMechanism, f.SASLUser, f.PasswordEnv = ScramSHA256, "cdn", "UNSET" },
			err: "$UNSET, which holds the password, is not set"},
		{name: "bad mechanism", edit: func(f *Flags) { f.SASLMechanism, f.SASLUser = "GSSAPI", "cdn" },
			err: `--kafka-sasl: SASL mechanism "GSSAPI": allowed are PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512`},
		{name: "mechanism without user", edit: func(f *Flags) { f.SASLMechanism = ScramSHA256 }, err: "needs --kafka-user"},
		{name: "user without mechanism", edit: func(f *Flags) { f.SASLUser = "cdn" }, err: "--kafka-user needs --kafka-sasl"},
		{name: "PLAIN in clear", edit: func(f *Flags) { f.SASLMechanism, f.SASLUser = "plain", "cdn" }, err: "PLAIN sends the password in clear"},
		{name: "PLAIN over TLS", edit: func(f *Flags) { f.SASLMechanism, f.SASLUser, f.TLS = "plain", "cdn", true }, check: func(t *testing.T, c Config) {
			if c.SASL.Mechanism != Plain || c.TLS == nil || c.TLS.InsecureSkipVerify || c.TLS.RootCAs != nil {
				t.Errorf("%v %+v", c.SASL, c.TLS)
			}
		}},
		{name: "CA file", edit: func(f *Flags) { f.CAFile = ca }, check: func(t *testing.T, c Config) {
			if c.TLS == nil || c.TLS.RootCAs == nil || c.TLS.InsecureSkipVerify {
				t.Errorf("%+v", c.TLS)
			}
		}},
		{name: "missing CA file", edit: func(f *Flags) { f.CAFile = filepath.Join(dir, "none.pem") }, err: "--kafka-ca: open"},
		{name: "CA file without PEM", edit: func(f *Flags) { f.CAFile = notPEM }, err: "--kafka-ca: no PEM certificate"},
		{name: "cert without key", edit: func(f *Flags) { f.CertFile = ca }, err: "--kafka-cert and --kafka-key go together"},
		{name: "bad key pair", edit: func(f *Flags) { f.CertFile, f.KeyFile = ca, notPEM }, err: "--kafka-cert/--kafka-key:"},
		{name: "session timeout", edit: func(f *Flags) { f.SessionTimeout = 6 * time.Second }, check: func(t *testing.T, c Config) {
			if c.SessionTimeout != 6*time.Second {
				t.Errorf("session timeout %s", c.SessionTimeout)
			}
		}},
		{name: "session timeout too short", edit: func(f *Flags) { f.SessionTimeout = time.Millisecond }, err: "--kafka-session-timeout 1ms: want 1s to 30m"},
		{name: "skip verify only when asked", edit: func(f *Flags) { f.InsecureSkipVerify = true }, check: func(t *testing.T, c Config) {
			if c.TLS == nil || !c.TLS.InsecureSkipVerify {
				t.Errorf("%+v", c.TLS)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := base
			tc.edit(&f)
			c, err := f.Config(withEnv)
			if err != nil {
				if strings.Contains(err.Error(), "password") && strings.Contains(err.Error(), testPassword) {
					t.Fatalf("error holds the password: %v", err)
				}
				if tc.err == "" || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %q, want %q", err, tc.err)
				}
				return
			}
			if tc.err != "" {
				t.Fatalf("no error, want %q", tc.err)
			}
			tc.check(t, c)
			if s := fmt.Sprintf("%v %+v %#v %s", c, c, c, c.SASL); strings.Contains(s, testPassword) || strings.Contains(s, "other-password") {
				t.Errorf("printing the config shows the password: %s", s)
			}
		})
	}
}

// TestTLSAndSASL logs in over TLS with SCRAM to a cluster that demands
// both: the right password reads the topic, a wrong one fails at once,
// without showing it.
func TestTLSAndSASL(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	writePEM(t, caFile, "CERTIFICATE", ca.cert.Raw)
	c := newCluster(t, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{ca.serverCert(t)}, MinVersion: tls.VersionTLS12}),
		kfake.EnableSASL(), kfake.Superuser(ScramSHA256, "cdn", testPassword))
	clientTLS := &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}
	clientTLS.RootCAs.AddCert(ca.cert)
	want := produce(t, c.ListenAddrs(), 10, kgo.DialTLSConfig(clientTLS),
		kgo.SASL(scram.Auth{User: "cdn", Pass: testPassword}.AsSha256Mechanism()))

	for _, tc := range []struct {
		name, password string
		ok             bool
	}{
		{"right password", testPassword, true},
		{"wrong password", "not-the-password", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
			defer cancel()
			f := Flags{Brokers: c.ListenAddrs(), Topic: topic, Group: "g-" + tc.name, CAFile: caFile,
				SASLMechanism: ScramSHA256, SASLUser: "cdn"}
			cfg, err := f.Config(env(map[string]string{DefaultPasswordEnv: tc.password}))
			if err != nil {
				t.Fatal(err)
			}
			ta := newTally(all(want, nil))
			go func() {
				select {
				case <-ta.until:
				case <-ctx.Done():
				}
				cancel()
			}()
			err = Consume(ctx, cfg, func(_ context.Context, batch []Record) error {
				ta.add(batch)
				return nil
			})
			switch {
			case tc.ok && err != nil:
				t.Errorf("Consume: %v", err)
			case tc.ok && ctx.Err() != context.Canceled:
				t.Errorf("not every line read: %v", ctx.Err())
			// kfake, as Kafka, closes the connection on a failed login.
			case !tc.ok && (err == nil || !strings.Contains(err.Error(), "kafka: connecting to")):
				t.Errorf("Consume with a wrong password: %v, want a failed connection", err)
			case !tc.ok && strings.Contains(err.Error(), tc.password):
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// testCA is a certificate authority made for a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T) testCA {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	cert, key := issue(t, tmpl, nil)
	return testCA{cert, key}
}

// serverCert is a certificate for 127.0.0.1, where kfake listens.
func (ca testCA) serverCert(t *testing.T) tls.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "broker"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	cert, key := issue(t, tmpl, &ca)
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key}
}

// issue makes a key and a certificate of it from tmpl, valid for an hour
// either side of now, signed by ca or, if nil, by itself.
func issue(t *testing.T, tmpl *x509.Certificate, ca *testCA) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	parent, parentKey := tmpl, key
	if ca != nil {
		parent, parentKey = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func writePEM(t *testing.T, name, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(name, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
