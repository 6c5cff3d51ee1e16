package kinesis

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Flags are the command line's Kinesis settings; Config checks them and
// turns them into a Config. There is no credential among them: those come
// from the SDK's standard chain.
type Flags struct {
	Stream, Region, Endpoint, Checkpoint string
	Poll                                 time.Duration
	Latest                               bool
	// Shards is "i/n": consumer i (from 0) of n; empty, every shard.
	Shards string
}

// streamName is Kinesis's pattern for a stream's name.
var streamName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,128}$`)

// region is an AWS region's shape, such as us-east-1 or us-gov-west-1.
var region = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// Config checks f and builds its Config; errors name the flag at fault.
func (f Flags) Config() (Config, error) {
	c := Config{Stream: f.Stream, Region: f.Region, Endpoint: f.Endpoint, Checkpoint: f.Checkpoint, Poll: f.Poll, Latest: f.Latest}
	switch {
	case f.Stream == "":
		return Config{}, errors.New("--kinesis-stream is needed")
	case !streamName.MatchString(f.Stream):
		return Config{}, fmt.Errorf("--kinesis-stream %q: a stream's name is 1 to 128 letters, digits, '_', '.' or '-'", f.Stream)
	case f.Region != "" && !region.MatchString(f.Region):
		return Config{}, fmt.Errorf("--kinesis-region %q is not a region, such as us-east-1", f.Region)
	case f.Poll != 0 && f.Poll < MinPoll:
		return Config{}, fmt.Errorf("--kinesis-poll %v: at least %v, as Kinesis allows 5 GetRecords calls a second per shard", f.Poll, MinPoll)
	}
	if f.Endpoint != "" {
		u, err := url.Parse(f.Endpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return Config{}, fmt.Errorf("--kinesis-endpoint %q: want a URL, https://host[:port]", f.Endpoint)
		}
	}
	if f.Shards != "" {
		var err error
		if c.Part, c.Parts, err = parseShards(f.Shards); err != nil {
			return Config{}, err
		}
	}
	if f.Checkpoint != "" {
		if st, err := os.Stat(f.Checkpoint); err == nil && st.IsDir() {
			return Config{}, fmt.Errorf("--kinesis-checkpoint %s is a directory: name a file in it", f.Checkpoint)
		}
	}
	return c, nil
}

// parseShards reads "i/n": consumer i of n, from 0.
func parseShards(s string) (part, parts int, err error) {
	i, n, ok := strings.Cut(s, "/")
	if ok {
		part, err = strconv.Atoi(i)
		if err == nil {
			parts, err = strconv.Atoi(n)
		}
	}
	if !ok || err != nil || parts < 1 || part < 0 || part >= parts {
		return 0, 0, fmt.Errorf("--kinesis-shards %q: want i/n with 0 <= i < n, such as 0/2 and 1/2 for two consumers", s)
	}
	return part, parts, nil
}
