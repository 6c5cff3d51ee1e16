package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Message is the JSON body posted to the webhook, at most one per run.
// Slack-style incoming webhooks read "text"; the rest is for machines.
type Message struct {
	Text string `json:"text"`
	// Source names the checker: "probe", "audit", "logs".
	Source   string  `json:"source"`
	Firing   []Cause `json:"firing,omitempty"`
	Resolved []Cause `json:"resolved,omitempty"`
}

// newMessage writes the text: a count line, then one line per cause.
func newMessage(source string, firing, resolved []Cause) *Message {
	var b bytes.Buffer
	fmt.Fprintf(&b, "cachefence %s: %d firing, %d resolved", source, len(firing), len(resolved))
	for _, c := range firing {
		fmt.Fprintf(&b, "\n[FIRING] %s", c)
	}
	for _, c := range resolved {
		fmt.Fprintf(&b, "\n[RESOLVED] %s", c)
	}
	return &Message{Text: b.String(), Source: source, Firing: firing, Resolved: resolved}
}

// Webhook posts messages to an incoming-webhook URL. The URL carries its
// own secret (Slack's does), so no error and no log line ever shows it.
type Webhook struct {
	url    string
	client *http.Client
	// attempts and backoff bound the retries within one post.
	attempts int
	backoff  time.Duration
}

// UserAgent names cachefence in the posts.
const UserAgent = "cachefence (+https://github.com/cachefence/cachefence)"

// NewWebhook checks rawURL and returns a Webhook that posts to it with a
// 10-second timeout per attempt.
func NewWebhook(rawURL string) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("want an absolute http or https URL")
	}
	return &Webhook{url: rawURL, client: &http.Client{Timeout: 10 * time.Second}, attempts: 3, backoff: time.Second}, nil
}

// Post sends m, trying again after a pause (doubling) on network errors,
// 429 and 5xx, up to three attempts. It returns the last error.
func (w *Webhook) Post(ctx context.Context, m *Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("posting alert: %w", err)
	}
	pause := w.backoff
	for attempt := 1; ; attempt++ {
		var again bool
		again, err = w.post(ctx, body)
		if err == nil || !again || attempt >= w.attempts {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("posting alert: %w", ctx.Err())
		case <-time.After(pause):
		}
		pause *= 2
	}
	if err != nil {
		return fmt.Errorf("posting alert: %w", err)
	}
	return nil
}

// post makes one attempt; again says whether another one might succeed.
func (w *Webhook) post(ctx context.Context, body []byte) (again bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("invalid webhook URL") // its text would quote the URL
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	resp, err := w.client.Do(req)
	if err != nil {
		// *url.Error prints the URL: keep only its cause.
		if uerr, ok := errors.AsType[*url.Error](err); ok {
			err = uerr.Err
		}
		return ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	// Another attempt may get through a rate limit or a server error, not
	// a refusal.
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode/100 == 5, fmt.Errorf("webhook answered %s", resp.Status)
}
