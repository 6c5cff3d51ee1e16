# Good: requests with a session cookie are passed.
sub vcl_recv {
#FASTLY recv
  if (req.method != "HEAD" && req.method != "GET") {
    return(pass);
  }
  if (req.http.Cookie ~ "session=") {
    return(pass);
  }
  return(lookup);
}
