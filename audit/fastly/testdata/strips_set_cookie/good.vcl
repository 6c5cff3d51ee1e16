# Good: only static files lose their Set-Cookie.
sub vcl_fetch {
#FASTLY fetch
  if (req.url.ext ~ "^(css|js|png)$") {
    unset beresp.http.Set-Cookie;
  }
  if (beresp.http.Cache-Control ~ "(private|no-store)") {
    return(pass);
  }
  return(deliver);
}
