package fence

import "net/http"

// Apply decides on the response to req whose status and headers are
// status and h, just before they are sent, and makes h what must leave:
// it merges header lines stored under non-canonical keys, classifies, drops
// the origin's route tag and any owner stamp the origin sent, and, for a
// fenced response (unless the policy only reports), rewrites the caching
// headers and stamps it. known holds reasons found before the response,
// such as an error in the handler chain. It returns every reason.
func (p *Policy) Apply(req *Request, known Reasons, status int, h http.Header) Reasons {
	present, vendors := canonicalize(h)
	rs := known | p.Classify(req, status, h)
	p.dropOwnHeaders(h)
	if rs.Fenced() && !p.report {
		rewrite(h, new(rewriteValues), present, vendors)
		if p.stampKey != nil {
			h[p.stampHeader] = []string{OwnerStamp(p.stampKey, req.identity)}
		}
	}
	return rs
}

// Fence makes h what a fenced response leaves with, unstamped, whatever
// the request: for a response Apply could not decide on (it panicked),
// which fails closed. In report mode it only drops the tag and any stamp.
func (p *Policy) Fence(h http.Header) {
	p.dropOwnHeaders(h)
	if !p.report {
		Rewrite(h)
	}
}

// dropOwnHeaders removes the origin's route tag, meant for the fence
// alone, and any owner stamp the origin sent: only the fence may stamp.
func (p *Policy) dropOwnHeaders(h http.Header) {
	if p.tagHeader != "" {
		delete(h, p.tagHeader)
	}
	if p.stampKey != nil {
		delete(h, p.stampHeader)
	}
}
