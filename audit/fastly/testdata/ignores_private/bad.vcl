# Bad: only private is checked; no-store responses are cached.
sub vcl_fetch {
#FASTLY fetch
  if (beresp.http.Cache-Control ~ "private") {
    return(pass);
  }
  return(deliver);
}
