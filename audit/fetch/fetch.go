// Package fetch downloads a CDN's configuration for cachefence audit, as
// the files its readers already know: a CloudFront distribution's
// configuration and the policies it names as the AWS CLI prints them,
// a Cloudflare zone's cache rules and Page Rules as its API returns them,
// or what any other vendor's own CLI prints, run as a command.
//
// A source never shows a credential: not in its name, its files or its
// errors.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/cachefence/cachefence/audit"
)

// Source is where one configuration comes from.
type Source interface {
	// Name says where, for reports, errors and metrics: "cloudfront:ID",
	// "cloudflare:ZONE", "cmd:PROGRAM". It holds no secret.
	Name() string
	// Fetch downloads the configuration, as files named under Name.
	Fetch(ctx context.Context) ([]audit.File, error)
}

// Options are what the sources Parse makes need.
type Options struct {
	// CloudFront returns the client cloudfront: sources use, made once
	// and only if one is given.
	CloudFront func(ctx context.Context) (CloudFrontAPI, error)
	// CloudflareAPI is the base URL of Cloudflare's API.
	CloudflareAPI string
	// CloudflareTokenEnv names the environment variable that holds the
	// Cloudflare API token.
	CloudflareTokenEnv string
	// MaxBytes bounds what one response or command output may hold.
	MaxBytes int64
}

// DefaultCloudflareAPI is the base URL of Cloudflare's API, v4.
const DefaultCloudflareAPI = "https://api.cloudflare.com/client/v4"

// DefaultMaxBytes bounds a response or a command's output: a large
// Terraform state prints tens of megabytes.
const DefaultMaxBytes = 64 << 20

// Parse reads a source argument, "cloudfront:DISTRIBUTION_ID",
// "cloudflare:ZONE_ID" or "cmd:COMMAND". It returns nil, nil for any
// other argument, a path.
func Parse(ctx context.Context, arg string, o Options) (Source, error) {
	scheme, rest, found := strings.Cut(arg, ":")
	if !found {
		return nil, nil
	}
	switch scheme {
	case "cloudfront":
		if !identifier.MatchString(rest) {
			return nil, fmt.Errorf("%s: want cloudfront:DISTRIBUTION_ID, letters and digits", arg)
		}
		api, err := o.CloudFront(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", arg, err)
		}
		return &CloudFront{ID: rest, API: api}, nil
	case "cloudflare":
		if !identifier.MatchString(rest) {
			return nil, fmt.Errorf("%s: want cloudflare:ZONE_ID, letters and digits", arg)
		}
		token := os.Getenv(o.CloudflareTokenEnv)
		if token == "" {
			return nil, fmt.Errorf("%s: $%s is empty: set it to a read-only API token", arg, o.CloudflareTokenEnv)
		}
		return &Cloudflare{Zone: rest, Token: token, TokenEnv: o.CloudflareTokenEnv, BaseURL: o.CloudflareAPI,
			MaxBytes: o.MaxBytes}, nil
	case "cmd":
		if strings.TrimSpace(rest) == "" {
			return nil, errors.New("cmd: names no command: want cmd:COMMAND")
		}
		return &Command{Line: rest, MaxBytes: o.MaxBytes}, nil
	}
	return nil, nil
}

// identifier is a distribution or zone ID: it goes into a URL's path.
var identifier = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// secretEnvMin is the least length of an environment value that scrub
// hides: shorter ones ("1", "us") would hide ordinary words.
const secretEnvMin = 8

// bearer is a credential in an Authorization header's form.
var bearer = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+`)

// scrub hides from text, which a command or an API wrote, the values of
// the environment variables whose names say they hold credentials
// (CLOUDFLARE_API_TOKEN, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN...),
// the extra secrets given, and Bearer or Basic credentials.
func scrub(text string, secrets ...string) string {
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		if audit.LooksSecret(name) {
			secrets = append(secrets, value)
		}
	}
	for _, s := range secrets {
		if len(s) >= secretEnvMin {
			text = strings.ReplaceAll(text, s, "[redacted]")
		}
	}
	return bearer.ReplaceAllString(text, "$1 [redacted]")
}

// scrubbed is err with scrub applied to its text; errors.Is and As still
// see what it wraps.
func scrubbed(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	return &scrubbedError{msg: scrub(err.Error(), secrets...), err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
