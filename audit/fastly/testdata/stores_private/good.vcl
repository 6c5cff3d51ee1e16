# Good: private and no-store responses are passed.
sub vcl_fetch {
#FASTLY fetch
  if (beresp.http.Cache-Control ~ "(private|no-store)") {
    return(pass);
  }
  return(deliver);
}
