# Bad: every response loses its Set-Cookie and is cached.
sub vcl_fetch {
#FASTLY fetch
  unset beresp.http.Set-Cookie;
  if (beresp.http.Cache-Control ~ "(private|no-store)") {
    return(pass);
  }
  return(deliver);
}
