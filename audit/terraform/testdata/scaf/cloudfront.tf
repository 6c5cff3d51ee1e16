# Source: sixfeetup/scaf {{cookiecutter.project_slug}}/terraform/modules/application/cloudfront.tf@371649e3a75bdef93a87bf64e9b5101edba154c5
# Trimmed to the distribution; the origin access identity and the invalidator IAM user are left out.

resource "aws_cloudfront_distribution" "ec2_cluster" {
  enabled             = true
  aliases             = [var.domain]
  is_ipv6_enabled     = true
  price_class         = "PriceClass_100"
  default_root_object = ""

  origin {
    domain_name = var.cluster_domain
    origin_id   = var.cluster_id

    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "match-viewer"
      origin_ssl_protocols   = ["TLSv1.1", "TLSv1.2"]
    }
  }

  default_cache_behavior {
    # Using the CachingOptimized policy:
    cache_policy_id = data.aws_cloudfront_cache_policy.caching_optimized.id
    # Using the AllViewerExceptHostHeader origin policy
    origin_request_policy_id = data.aws_cloudfront_origin_request_policy.all_viewer_except_host.id

    allowed_methods        = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    cached_methods         = ["GET", "HEAD"]
    viewer_protocol_policy = "redirect-to-https"
    target_origin_id       = var.cluster_id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }
}
