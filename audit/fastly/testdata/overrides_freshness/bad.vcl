# Bad: max-age=0, no-cache and a past Expires become an hour.
sub vcl_fetch {
#FASTLY fetch
  if (beresp.http.Cache-Control ~ "(private|no-store)") {
    return(pass);
  }
  set beresp.ttl = 3600s;
  return(deliver);
}
