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
	vendors := canonicalize(h)
	rs := known | p.Classify(req, status, h)
	if p.tagHeader != "" {
		delete(h, p.tagHeader)
	}
	if p.stampKey != nil {
		// Only the fence may stamp.
		delete(h, p.stampHeader)
	}
	if rs.Fenced() && !p.report {
		rewrite(h, &req.values, vendors)
		if p.stampKey != nil {
			h[p.stampHeader] = []string{OwnerStamp(p.stampKey, req.identity)}
		}
	}
	return rs
}
