# Source: chjy090/aws_mode_dep_init run_file/c11-02-CDN-cloudfront.tf@54264734c8af9919e704eac03b23b6ac1032784c
module "cdn" {
  source = "terraform-aws-modules/cloudfront/aws"

  comment             = "My awesome CloudFront"
  enabled             = true
  is_ipv6_enabled     = true
  price_class         = "PriceClass_All"
  retain_on_delete    = false
  wait_for_deployment = false
  create_origin_access_identity = true
  origin = {
    something = {
      domain_name = module.alb.lb_dns_name
      custom_origin_config = {
        http_port              = 80
        https_port             = 443
        origin_protocol_policy = "http-only"
        origin_ssl_protocols   = ["TLSv1", "TLSv1.1", "TLSv1.2"]
      }
    }
  }

  default_cache_behavior = {
    target_origin_id           = "something"
    viewer_protocol_policy     = "allow-all"

    allowed_methods = ["GET", "HEAD", "OPTIONS", "POST", "DELETE", "PATCH", "PUT"]
    cached_methods  = ["GET", "HEAD"]
    compress        = true
    query_string    = true
  }
}
