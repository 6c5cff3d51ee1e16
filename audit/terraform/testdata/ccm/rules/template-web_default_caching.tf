# Source: deepakjd2004/ccm rules/template-web_default_caching.tf@41797d04f67bacaa2c20c7c6276ecb57b68e9bc7
# Trimmed: prefresh, prefetch and downstream behaviors are left out, and the static extension list shortened.

data "akamai_property_rules_builder" "template-web_rule_caching" {
  rules_v2025_10_16 {
    name                  = "Caching"
    comments              = "Controls caching, which offloads traffic away from the origin. Most objects types are not cached. However, the child rules override this behavior for certain subsets of requests."
    criteria_must_satisfy = "all"
    behavior {
      caching {
        behavior                 = "CACHE_CONTROL_AND_EXPIRES"
        cache_control_directives = ""
        default_ttl              = "0s"
        enhanced_rfc_support     = false
        honor_must_revalidate    = false
        honor_private            = false
        must_revalidate          = false
      }
    }
    behavior {
      cache_error {
        enabled        = true
        preserve_stale = true
        ttl            = "10s"
      }
    }
    children = [
      data.akamai_property_rules_builder.template-web_rule_css_and_java_script.json,
      data.akamai_property_rules_builder.template-web_rule_static_objects.json,
      data.akamai_property_rules_builder.template-web_rule_no_cache.json,
    ]
  }
}

data "akamai_property_rules_builder" "template-web_rule_css_and_java_script" {
  rules_v2025_10_16 {
    name                  = "CSS and JavaScript"
    criteria_must_satisfy = "any"
    criterion {
      file_extension {
        match_case_sensitive = false
        match_operator       = "IS_ONE_OF"
        values               = ["css", "js", ]
      }
    }
    behavior {
      caching {
        behavior        = "MAX_AGE"
        must_revalidate = true
        ttl             = "1d"
      }
    }
  }
}

data "akamai_property_rules_builder" "template-web_rule_static_objects" {
  rules_v2025_10_16 {
    name                  = "Static Objects"
    criteria_must_satisfy = "any"
    criterion {
      file_extension {
        match_case_sensitive = false
        match_operator       = "IS_ONE_OF"
        values               = ["gif", "ico", "jpeg", "jpg", "png", "svg", "webp", "woff", "woff2", ]
      }
    }
    behavior {
      caching {
        behavior        = "MAX_AGE"
        must_revalidate = true
        ttl             = "7d"
      }
    }
  }
}

data "akamai_property_rules_builder" "template-web_rule_no_cache" {
  rules_v2025_10_16 {
    name                  = "No Cache"
    comments              = "Don't cache frequently changing system info."
    criteria_must_satisfy = "all"
    criterion {
      filename {
        match_case_sensitive = true
        match_operator       = "IS_ONE_OF"
        values               = ["x-s.txt", "x-v.txt", ]
      }
    }
    behavior {
      caching {
        behavior = "NO_STORE"
      }
    }
  }
}
