# Source: deepakjd2004/ccm rules/template-web_default.tf@41797d04f67bacaa2c20c7c6276ecb57b68e9bc7
# Trimmed: the origin, cp_code and report behaviors are left out, and so are the children other than Caching.

data "akamai_property_rules_builder" "template-web_rule_default" {
  rules_v2025_10_16 {
    name      = "default"
    is_secure = true
    comments  = "The behaviors in the Default Rule apply to all requests for the property hostname(s) unless another rule overrides the Default Rule settings."
    children = [
      data.akamai_property_rules_builder.template-web_rule_caching.json,
    ]
  }
}
