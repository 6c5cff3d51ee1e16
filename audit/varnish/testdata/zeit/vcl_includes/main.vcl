# Source: ZeitOnline/app-cache-deployment components/varnish/vcl_includes/main.vcl@34227024e2760c48df2f72a46fb6895c47aa91ed, reduced to the includes that decide caching (synth, deliver, hit, miss and pass are dropped)
include "/etc/varnish/vcl_includes/acl.vcl";
include "/etc/varnish/vcl_includes/recv.vcl";
include "/etc/varnish/vcl_includes/backend_response.vcl";
