# Source: droposhado/terraform-aws-proxy aws-cloudfront-origin-request-policy.tf@6d8105876b168d2969ac218ce0239ff3e5aee01a
data "aws_cloudfront_origin_request_policy" "proxy" {
  name = var.origin_policy_name
}
