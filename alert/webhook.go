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
	"strings"
	"time"
	"unicode/utf8"
)

// Message is the JSON body posted to the webhook, at most one per run.
// Slack-style incoming webhooks read "text"; the rest is for machines.
type Message struct {
	Text string `json:"text"`
	// Source names the checker: "probe", "audit", "logs".
	Source   string  `json:"source"`
	Firing   []Cause `json:"firing,omitempty"`
	Resolved []Cause `json:"resolved,omitempty"`
	// MoreFiring and MoreResolved count the causes left out of Firing and
	// Resolved (and of Text) to keep the message within its bounds. They
	// are announced all the same: they are not sent again.
	MoreFiring   int `json:"more_firing,omitempty"`
	MoreResolved int `json:"more_resolved,omitempty"`
}

// The bounds of a message. A site-wide problem can make thousands of
// causes at once (cachefence logs keys them by path). Slack truncates text
// past 40,000 characters, and many endpoints refuse a large body with 413:
// such a message would stay owed, and be refused, every run.
const (
	// maxListed bounds the causes listed as firing, and apart from them
	// the causes listed as resolved, the most urgent first.
	maxListed = 20
	// maxLine bounds, in bytes, a cause's line in the text and its
	// summary in the JSON, so that one long cause leaves room for others.
	maxLine = 500
	// maxText bounds the text in bytes; Slack advises 4,000 characters.
	maxText = 4000
	// maxBody bounds the JSON body in bytes, details included.
	maxBody = 32 << 10
)

// newMessage lists the firing then the resolved causes, each list sorted
// from the most urgent, as many as the bounds allow, and counts the rest.
// It lists no cause after one that does not fit, so that what is left out
// is always the least urgent.
func newMessage(source string, firing, resolved []Cause) *Message {
	m := &Message{Source: source, MoreFiring: len(firing), MoreResolved: len(resolved)}
	head := fmt.Sprintf("cachefence %s: %d firing, %d resolved", source, len(firing), len(resolved))
	m.Text = text(head, nil, m.MoreFiring, m.MoreResolved)
	var lines []string
	for _, list := range []struct {
		tag    string
		causes []Cause
		listed *[]Cause
		more   *int
	}{
		{"[FIRING] ", firing, &m.Firing, &m.MoreFiring},
		{"[RESOLVED] ", resolved, &m.Resolved, &m.MoreResolved},
	} {
		for _, c := range list.causes[:min(len(list.causes), maxListed)] {
			c.Summary = truncate(c.Summary, maxLine)
			lines = append(lines, truncate(list.tag+c.String(), maxLine))
			*list.listed = append(*list.listed, c)
			*list.more--
			m.Text = text(head, lines, m.MoreFiring, m.MoreResolved)
			if !m.fits() {
				lines = lines[:len(lines)-1]
				*list.listed = (*list.listed)[:len(*list.listed)-1]
				*list.more++
				m.Text = text(head, lines, m.MoreFiring, m.MoreResolved)
				return m
			}
		}
	}
	return m
}

// brief is m without its lists, for an endpoint that refused m as too
// large: the counts alone.
func (m *Message) brief() *Message {
	head, _, _ := strings.Cut(m.Text, "\n")
	b := &Message{Source: m.Source, MoreFiring: len(m.Firing) + m.MoreFiring, MoreResolved: len(m.Resolved) + m.MoreResolved}
	b.Text = text(head, []string{"(the webhook refused the list of causes as too large)"}, b.MoreFiring, b.MoreResolved)
	return b
}

// text joins the head line, the lines and a last line that counts what
// was left out, if anything was.
func text(head string, lines []string, moreFiring, moreResolved int) string {
	var b strings.Builder
	b.WriteString(head)
	for _, l := range lines {
		b.WriteString("\n" + l)
	}
	switch {
	case moreFiring > 0 && moreResolved > 0:
		fmt.Fprintf(&b, "\n… and %d more firing (%d more resolved)", moreFiring, moreResolved)
	case moreFiring > 0:
		fmt.Fprintf(&b, "\n… and %d more firing", moreFiring)
	case moreResolved > 0:
		fmt.Fprintf(&b, "\n… and %d more resolved", moreResolved)
	}
	return b.String()
}

// fits reports whether m is within maxText and maxBody. A message that
// cannot be encoded does not fit: it could not be sent.
func (m *Message) fits() bool {
	body, err := json.Marshal(m)
	return err == nil && len(m.Text) <= maxText && len(body) <= maxBody
}

// truncate cuts s to at most n bytes, on a character boundary, ending
// with "…" when it cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	i := n - len(ellipsis)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + ellipsis
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
// 429 and 5xx, up to three attempts. It returns the last error. When the
// endpoint refuses m as too large (413), Post sends m.brief() instead: m
// would be refused again every run, and what it announces would stay
// owed for ever.
func (w *Webhook) Post(ctx context.Context, m *Message) error {
	err := w.send(ctx, m)
	if serr, ok := errors.AsType[*statusError](err); ok && serr.code == http.StatusRequestEntityTooLarge && len(m.Firing)+len(m.Resolved) > 0 {
		err = w.send(ctx, m.brief())
	}
	if err != nil {
		return fmt.Errorf("posting alert: %w", err)
	}
	return nil
}

// send posts m, with Post's retries.
func (w *Webhook) send(ctx context.Context, m *Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	pause := w.backoff
	for attempt := 1; ; attempt++ {
		var again bool
		again, err = w.post(ctx, body)
		if err == nil || !again || attempt >= w.attempts {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause *= 2
	}
}

// statusError is an answer other than 2xx.
type statusError struct {
	code   int
	status string
}

// Error says what the webhook answered, without its URL.
func (e *statusError) Error() string { return "webhook answered " + e.status }

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
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode/100 == 5, &statusError{resp.StatusCode, resp.Status}
}
