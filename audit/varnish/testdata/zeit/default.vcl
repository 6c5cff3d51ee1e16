# Source: ZeitOnline/app-cache-deployment components/varnish/default.vcl@087a422bb42553b7c785987330c77d29c574b128 (Zeit Online's newsroom app cache), as written: its includes are absolute paths under /etc/varnish
vcl 4.0;

import directors;


include "/etc/varnish/vcl_includes/backends.vcl";
include "/etc/varnish/vcl_includes/main.vcl";
