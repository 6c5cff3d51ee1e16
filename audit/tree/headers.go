package tree

import (
	"strings"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/vcl"
)

// Where the vendors' JSON and Terraform put the headers a configuration
// sends, so that Flatten hides their values (audit.HeaderValue) wherever
// they are: in an API export, a .tf file, or the state, plan and
// configuration of terraform show -json. Names are normalised.
var (
	// headerNameFields name the header of the object they are in:
	// CloudFront's origin custom headers (HeaderName) and response
	// headers policies (Header), Akamai's modify*Header behaviors, and
	// Fastly's header objects ("http.X-Name").
	headerNameFields = map[string]bool{"headername": true, "header": true, "customheadername": true,
		"standardaddheadername": true, "standardmodifyheadername": true, "standarddeleteheadername": true,
		"standardpassheadername": true, "dst": true, "destination": true}
	// headerValueFields hold a header object's value, or what it is
	// matched or replaced with.
	headerValueFields = map[string]bool{"headervalue": true, "value": true, "values": true, "newheadervalue": true,
		"regexheadermatch": true, "regexheaderreplace": true, "src": true, "source": true, "regex": true,
		"substitution": true, "expression": true}
	// headerLines are lists of "Name:value" strings (Google Cloud CDN).
	headerLines = map[string]bool{"customrequestheaders": true, "customresponseheaders": true}
	// vclFields hold VCL, by the lists they are in (Fastly's custom VCL,
	// snippets and conditions).
	vclFields = map[[2]string]bool{{"vcls", "content"}: true, {"vcl", "content"}: true,
		{"snippets", "content"}: true, {"snippet", "content"}: true,
		{"conditions", "statement"}: true, {"condition", "statement"}: true}
)

// hiding returns how the scalars below member m of object n are shown, or
// nil for as they are. key and parent are as for flatten.
func hiding(n, m *Node, key, parent string) func(string) string {
	name := Normalize(m.Key)
	switch {
	case headerLines[name]:
		return hideLine
	case vclFields[[2]string{key, name}]:
		return vcl.Hide
	case headerValueFields[name]:
		if names, ok := headerNames(n, key, parent); ok {
			return func(v string) string { return audit.HeaderValue(v, names...) }
		}
	}
	return nil
}

// headerNames returns the names of the header that object n is, and
// whether it is one.
func headerNames(n *Node, key, parent string) (names []string, ok bool) {
	for _, m := range n.Members {
		if !headerNameFields[Normalize(m.Key)] || m.Kind == Object || m.Kind == Array {
			continue
		}
		ok = true
		// OTHER is Akamai's for "the header customHeaderName names".
		if name := strings.TrimPrefix(m.Text, "http."); name != "OTHER" {
			names = append(names, name)
		}
	}
	switch {
	case ok:
		return names, true
	case parent == "headers" && n.Get("operation") != nil:
		// Cloudflare's transform rules: {"headers": {"X-Name": {"operation": "set", "value": ...}}}.
		return []string{n.Key}, true
	case (key == "headers" || key == "customheader") && n.Get("name") != nil:
		// Terraform's custom_header {name, value} (CloudFront) and
		// headers {name, operation, value} (Cloudflare).
		return []string{n.Get("name").Str()}, true
	}
	return nil, false
}

// hideLine hides the value of a "Name:value" header line.
func hideLine(line string) string {
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		return audit.HeaderValue(line)
	}
	trimmed := strings.TrimLeft(value, " ")
	return name + ":" + value[:len(value)-len(trimmed)] + audit.HeaderValue(trimmed, name)
}
