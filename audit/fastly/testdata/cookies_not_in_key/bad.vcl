# Bad: requests with a session cookie are looked up by URL and host alone.
sub vcl_recv {
#FASTLY recv
  if (req.method != "HEAD" && req.method != "GET") {
    return(pass);
  }
  return(lookup);
}
