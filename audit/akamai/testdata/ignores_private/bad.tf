# Bad: honor_private = false, so the edge stores pages the origin marks private.
data "akamai_property_rules_builder" "default" {
  rules_v2025_10_16 {
    name = "default"
    behavior {
      caching {
        behavior             = "CACHE_CONTROL_AND_EXPIRES"
        default_ttl          = "0s"
        enhanced_rfc_support = false
        honor_private        = false
      }
    }
  }
}
