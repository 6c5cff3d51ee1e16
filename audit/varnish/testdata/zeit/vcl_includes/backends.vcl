# Source: ZeitOnline/app-cache-deployment components/varnish/vcl_includes/backends.vcl@0e2021704d74366dc782bf42da154e251a4c4138, with the agatho backend that recv.vcl names; the Jinja template tags are kept as the repository has them
backend default {
    {% if not component.haproxy_backend %}
    .host = "internal-lb{{component.subdomain}}.zeit.de";
    {% else %}
    .host = "{{component.haproxy_backend}}";
    {% endif %}
    .port = "8081";
    .connect_timeout = 10s;
    .first_byte_timeout = 10s;
    .between_bytes_timeout = 1s;
}

backend agatho {
    .host = "community-app{{component.subdomain}}.zeit.de";
    .port = "80";
}
