# Bad: static-looking URLs are delivered before the private/no-store check.
sub vcl_fetch {
#FASTLY fetch
  if (req.url.ext ~ "^(css|js|png)$") {
    set beresp.ttl = 86400s;
    return(deliver);
  }
  if (beresp.http.Cache-Control ~ "(private|no-store)") {
    return(pass);
  }
  return(deliver);
}
