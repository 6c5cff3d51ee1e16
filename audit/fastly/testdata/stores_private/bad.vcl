# Bad: responses are delivered to the cache before any private or no-store check.
sub vcl_fetch {
#FASTLY fetch
  return(deliver);
}
