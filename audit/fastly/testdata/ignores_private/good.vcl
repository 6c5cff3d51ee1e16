# Good: private and no-store are both checked.
sub vcl_fetch {
#FASTLY fetch
  if (beresp.http.Cache-Control ~ "(private|no-store)") {
    return(pass);
  }
  return(deliver);
}
