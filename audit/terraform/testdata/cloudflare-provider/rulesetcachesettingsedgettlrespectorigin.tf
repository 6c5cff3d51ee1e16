# Source: cloudflare/terraform-provider-cloudflare internal/services/ruleset/testdata/rulesetcachesettingsedgettlrespectorigin.tf (the provider's acceptance test; %[1]s and %[2]s are its placeholders), resource renamed to keep names unique in the module

resource "cloudflare_ruleset" "respect_origin" {
  zone_id     = "%[2]s"
  name        = "%[1]s"
  description = "%[1]s ruleset description"
  kind        = "zone"
  phase       = "http_request_cache_settings"

  rules = [{
    action = "set_cache_settings"
    action_parameters = {
      edge_ttl = {
        status_code_ttl = [{
          status_code_range = { 
    from = 201
            to   = 300 
}
          value = 5
        }]
        mode = "respect_origin"
      }
      cache = true
    }
    expression  = "true"
    description = "%[1]s set cache settings rule"
    enabled     = true
  }]
}
