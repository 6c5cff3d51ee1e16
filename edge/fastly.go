package edge

import (
	"fmt"
	"io"
	"strings"
	"text/template"
)

func init() {
	register(Target{Name: "fastly-vcl",
		Runtime: "Fastly VCL: an included custom VCL file called from vcl_recv, vcl_deliver and vcl_error; the key is an item of the private Edge Dictionary cachefence",
		write:   writeFastly})
}

// fastlyGuard is what the Fastly template reads.
type fastlyGuard struct {
	G   guard
	VCL vclRules
}

func writeFastly(w io.Writer, g guard) error {
	rules, err := newVCLRules(g.Rules)
	if err != nil {
		return err
	}
	return fastlyTemplate.Execute(w, fastlyGuard{G: g, VCL: rules})
}

// hmacPad is one byte of an HMAC pad table: the key's byte In, in hex,
// and Out, the same XOR the pad.
type hmacPad struct{ In, Out string }

// padTable returns the 256 rows of the HMAC pad pad (RFC 2104: 0x36 inner,
// 0x5c outer): VCL has no XOR, so the guard looks each key byte up.
func padTable(pad int) []hmacPad {
	rows := make([]hmacPad, 256)
	for b := range rows {
		rows[b] = hmacPad{fmt.Sprintf("%02X", b), fmt.Sprintf("%02X", b^pad)}
	}
	return rows
}

// keyOffsets are the offsets of the 64 bytes of an HMAC-SHA256 key block
// in its hex.
func keyOffsets() []int {
	offsets := make([]int, 64)
	for i := range offsets {
		offsets[i] = 2 * i
	}
	return offsets
}

var fastlyTemplate = template.Must(template.New("fastly").Funcs(template.FuncMap{
	"pad": padTable, "offsets": keyOffsets, "zeros": func() string { return strings.Repeat("0", 128) },
	"item": func(name, stamp string) struct{ Name, Stamp string } {
		return struct{ Name, Stamp string }{name, stamp}
	},
}).Parse(`{{define "stamp"}}
  # The stamp under the key in item {{.Name}} is HMAC-SHA256 written out (RFC 2104) over bytes in hex:
  # digest.hmac_sha256 takes a string, which cannot hold the identity's NUL bytes.
  set var.key = table.lookup(cachefence, "{{.Name}}", "");
  if (!var.owned && std.strlen(var.key) > 0) {
    if (std.strlen(var.key) > 64) {
      set var.k = std.toupper(digest.hash_sha256(var.key));
    } else {
      set var.k = bin.base64_to_hex(digest.base64(var.key));
    }
    set var.k = substr(var.k + "{{zeros}}", 0, 128);
    set var.mac = std.toupper(digest.hash_sha256_from_base64(bin.hex_to_base64(""{{range offsets}}
      + table.lookup(cachefence_ipad, substr(var.k, {{.}}, 2)){{end}}
      + var.id)));
    set var.mac = digest.hash_sha256_from_base64(bin.hex_to_base64(""{{range offsets}}
      + table.lookup(cachefence_opad, substr(var.k, {{.}}, 2)){{end}}
      + var.mac));
    # v1. and the first 16 bytes in unpadded base64url, as the fence writes them.
    set var.mac = "v1." + regsuball(regsuball(regsub(bin.hex_to_base64(substr(var.mac, 0, 32)), "=+$", ""), "[+]", "-"), "/", "_");
    # In time independent of where they differ.
    if (digest.secure_is_equal(var.mac, resp.http.{{.Stamp}})) {
      set var.owned = true;
    }
  }
{{- end}}{{with .G}}# cachefence edge guard for Fastly VCL, written by {{.Config.Version}}
# from {{.Config.Source}} (configuration {{.Digest}}). Regenerate it when the
# fence's cookie, header or parameter lists change: the identity must be the fence's.
#
# After the cache, it computes the requester's identity as the fence does, stamps it with the
# fence's key, and compares that with the page's owner stamp ({{.StampHeader}}). A page stamped
# for someone else is never delivered: {{if eq .Config.OnMismatch "pass"}}a GET or HEAD restarts and is passed to the origin,
# and the page is delivered if it is now the requester's, with {{.GuardHeader}}: passed;
# otherwise, and for other methods, {{end}}the requester gets a short 503 that no cache stores, with
# {{.GuardHeader}}: refused. Unstamped responses pass untouched, with no HMAC.
#
# VCL has no loops: the guard reads each session cookie, credential header and parameter by
# name. It matches the fence's identity when each is sent at most once, cookies and
# parameters under their configured names (parameters in the query string), headers with
# dashes, and Authorization once. For any other request it reads an identity without what it
# could not read, which is not the fence's: the requester's own stamped pages fail closed
# ({{if eq .Config.OnMismatch "pass"}}fetched past the cache, then {{end}}refused), and another's page is delivered only to a
# request that carries every credential of its owner.
#
# Deploy: upload this file as custom VCL named cachefence, and in the main VCL:
#   include "cachefence";
#   call cachefence_recv;     first in vcl_recv, before #FASTLY recv
#   call cachefence_deliver;  first in vcl_deliver
#   call cachefence_error;    first in vcl_error
# The key is the item {{.Config.KeyName}} of a private (write-only) Edge Dictionary named cachefence; it is
# never written here. To rotate it, put the new key in {{.Config.KeyName}}, the old one in
# {{.Config.KeyName}}_PREVIOUS, and in {{.Config.KeyName}}_PREVIOUS_UNTIL the time until which pages stamped with the old
# key are accepted (as long as the CDN may keep a page), in seconds since the Unix epoch or as
# "YYYY-MM-DD HH:MM:SS" in GMT (the formats std.time reads).

# VCL has no XOR: the HMAC pads byte by byte.
table cachefence_ipad {
{{- range pad 0x36}}
  "{{.In}}": "{{.Out}}",
{{- end}}
}

table cachefence_opad {
{{- range pad 0x5c}}
  "{{.In}}": "{{.Out}}",
{{- end}}
}

sub cachefence_recv {
  # Only the guard asks for a second try: a client's own marker is dropped.
  if (req.restarts == 0) {
    unset req.http.cache-fence-retry;
  }
  if (req.http.cache-fence-retry == "refuse") {
    error 503 "Not made for you";
  }
  if (req.http.cache-fence-retry == "pass") {
    return(pass);
  }
}

sub cachefence_deliver {
  declare local var.id STRING;
  declare local var.key STRING;
  declare local var.k STRING;
  declare local var.mac STRING;
  declare local var.owned BOOL;
  if (resp.http.{{.StampHeader}}) {
    # resp.http gives the first of several headers of one name: all of them, joined, are
    # compared, so that a page with two stamps is no one's.
    std.collect(resp.http.{{.StampHeader}});
    # The identity in hex: each field is its kind, NUL, its text, NUL, in the fence's order.
    set var.id = "";
    if (req.http.Authorization) {
      set var.id = var.id + "617574686F72697A6174696F6E00" + bin.base64_to_hex(digest.base64(req.http.Authorization)) + "00";
    }
{{- end}}
{{- range .VCL.Cookies}}
    if (req.http.Cookie ~ "{{.Pattern}}") {
      set var.id = var.id + "{{.Hex}}" + bin.base64_to_hex(digest.base64(re.group.1)) + "00";
    }
{{- end}}
{{- range .VCL.Headers}}
    if (req.http.{{.Name}}) {
      set var.id = var.id + "{{.Hex}}" + bin.base64_to_hex(digest.base64(req.http.{{.Name}})) + "00";
    }
{{- end}}
{{- range .VCL.Params}}
    if (req.url.qs ~ "{{.Pattern}}") {
      set var.id = var.id + "{{.Hex}}" + bin.base64_to_hex(digest.base64(re.group.1)) + "00";
    }
{{- end}}
{{- with .G}}
    set var.owned = false;
{{- template "stamp" (item .Config.KeyName .StampHeader)}}
    if (time.is_after(std.time(table.lookup(cachefence, "{{.Config.KeyName}}_PREVIOUS_UNTIL", "0"), std.integer2time(0)), now)) {
{{- template "stamp" (item (print .Config.KeyName "_PREVIOUS") .StampHeader)}}
    }
    if (var.owned) {
      if (req.http.cache-fence-retry == "pass") {
        set resp.http.{{.GuardHeader}} = "passed";
      }
{{- if eq .Config.OnMismatch "pass"}}
    } else if (!req.http.cache-fence-retry && (req.method == "GET" || req.method == "HEAD")) {
      # Neither the identity nor the stamps are logged.
      set req.http.cache-fence-retry = "pass";
      restart;
{{- end}}
    } else {
      set req.http.cache-fence-retry = "refuse";
      restart;
    }
  } else if (req.http.cache-fence-retry == "pass") {
    set resp.http.{{.GuardHeader}} = "passed";
  }
}

sub cachefence_error {
  if (obj.status == 503 && req.http.cache-fence-retry == "refuse") {
    set obj.http.Content-Type = "text/plain; charset=utf-8";
    set obj.http.Cache-Control = "private, no-store";
    set obj.http.Retry-After = "1";
    set obj.http.{{.GuardHeader}} = "refused";
    synthetic {"This page was not made for you. Please retry."};
    return(deliver);
  }
}
{{end}}`))
