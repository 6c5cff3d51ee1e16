# A Fastly service for the tests (a Go template), with the mistake of
# 2017: it caches every response for a minute, private or not, whoever
# asked, on the URL alone. With the guard, it calls cachefence's three
# subroutines as the guard's header says.

backend F_origin {
  .host = "127.0.0.1";
  .port = "{{.Port}}";
}

# Stands in for the private Edge Dictionary cachefence.
table cachefence {
{{- range $name, $value := .Items}}
  "{{$name}}": "{{$value}}",
{{- end}}
}
{{if .Guard}}
include "cachefence";
{{end}}
sub vcl_recv {
{{- if .Guard}}
  call cachefence_recv;
{{- end}}
#FASTLY recv
  set req.backend = F_origin;
  return(lookup);
}

sub vcl_fetch {
#FASTLY fetch
  # falco stores a response fetched on pass (for two minutes unless
  # max-age says otherwise, private or not), which Fastly does not: the
  # guard's second try is not stored.
  if (req.http.cache-fence-retry) {
    set beresp.cacheable = false;
  } else {
    set beresp.cacheable = true;
    set beresp.ttl = 60s;
  }
  return(deliver);
}

sub vcl_deliver {
{{- if .Guard}}
  call cachefence_deliver;
{{- end}}
#FASTLY deliver
  return(deliver);
}

sub vcl_error {
{{- if .Guard}}
  call cachefence_error;
{{- end}}
#FASTLY error
  return(deliver);
}
