# Source: deepakjd2004/ccm akamai.tf@41797d04f67bacaa2c20c7c6276ecb57b68e9bc7
# Trimmed to the call of the rules module; the property, certificates and activations are left out.

module "rules" {
  source = "./rules"

  cp_code_id      = akamai_cp_code.cp_code.id
  origin_hostname = var.origin_hostname
}
