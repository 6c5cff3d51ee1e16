# Source: alexwilson/frontend terraform/modules/fastly/main.tf@62b433bb3d821befc91d39e3ad594ff17832f753, with the dynamic "vcl" block (templatefile of each file in vcl/) written out as one block per file, each with its content inline from vcl/main.vcl@31d1e39c, vcl/fastly-boilerplate-begin.vcl@a887b327 and vcl/fastly-boilerplate-end.vcl@41e8b01f (comments and the subroutines that do not decide caching dropped); domains, backends and logging are dropped
resource "fastly_service_vcl" "cdn" {
  name = "cdn-${var.environment}"

  vcl {
    name    = "main.vcl"
    main    = true
    content = <<-EOT
      include "fastly-boilerplate-begin.vcl";

      include "fastly-boilerplate-end.vcl";
    EOT
  }

  vcl {
    name    = "fastly-boilerplate-begin.vcl"
    main    = false
    content = <<-EOT
      sub vcl_recv {
      #FASTLY recv
      }

      sub vcl_fetch {
        if (beresp.status >= 500 && beresp.status < 600) {
          if (stale.exists) {
            return(deliver_stale);
          }
          if (req.restarts < 1 && (req.method == "GET" || req.method == "HEAD")) {
            restart;
          }
        }
        set beresp.stale_if_error = 86400s;
        set beresp.stale_while_revalidate = 60s;
      #FASTLY fetch
      }
    EOT
  }

  vcl {
    name    = "fastly-boilerplate-end.vcl"
    main    = false
    content = <<-EOT
      sub vcl_recv {
        if (req.method != "HEAD" && req.method != "GET" && req.method != "FASTLYPURGE") {
          return(pass);
        }
        return(lookup);
      }

      sub vcl_fetch {
        if (beresp.status >= 500 && beresp.status < 600) {
          if (stale.exists) {
            return(deliver_stale);
          }
        }
        if (req.http.X-Fastly-Imageopto-Api) {
          unset beresp.http.Set-Cookie;
          unset beresp.http.Vary;
        }
        if (req.restarts > 0) {
          set beresp.http.Fastly-Restarts = req.restarts;
        }
        if (beresp.http.Set-Cookie) {
          return(pass);
        }
        if (beresp.http.Cache-Control ~ "(?:private|no-store)") {
          return(pass);
        }
        if (!beresp.http.Expires && !beresp.http.Surrogate-Control ~ "max-age" && !beresp.http.Cache-Control ~ "(?:s-maxage|max-age)") {
          set beresp.ttl = 3600s;
          if (req.http.X-Fastly-Imageopto-Api) {
            set beresp.ttl = 2592000s; # 30 days
            set beresp.http.Cache-Control = "max-age=2592000, public";
          }
        }
        return(deliver);
      }
    EOT
  }
}
