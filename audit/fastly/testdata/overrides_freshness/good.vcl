# Good: the TTL applies only when the origin sent no caching header.
sub vcl_fetch {
#FASTLY fetch
  if (beresp.http.Cache-Control ~ "(private|no-store)") {
    return(pass);
  }
  if (!beresp.http.Expires && !beresp.http.Surrogate-Control && !beresp.http.Cache-Control) {
    set beresp.ttl = 3600s;
  }
  return(deliver);
}
