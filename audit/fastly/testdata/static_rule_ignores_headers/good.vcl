# Good: the private/no-store check comes first, for static URLs too.
sub vcl_fetch {
#FASTLY fetch
  if (beresp.http.Cache-Control ~ "(private|no-store)") {
    return(pass);
  }
  if (req.url.ext ~ "^(css|js|png)$") {
    set beresp.ttl = 86400s;
    return(deliver);
  }
  return(deliver);
}
