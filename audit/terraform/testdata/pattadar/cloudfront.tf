# Source: reddy-sh/pattadar-platform infra/terraform/modules/runtime/cloudfront.tf@40ac20002dd61a21d2c948c326929eb2295873d0
# Trimmed to the distribution and its policies; the bucket, WAF, certificate, functions and the two dynamic blocks (the "vm" origin and behavior, and "/_next/static/*") are left out.

data "aws_cloudfront_cache_policy" "caching_optimized" {
  name = "Managed-CachingOptimized"
}

data "aws_cloudfront_cache_policy" "caching_disabled" {
  name = "Managed-CachingDisabled"
}

data "aws_cloudfront_origin_request_policy" "all_viewer_except_host" {
  name = "Managed-AllViewerExceptHostHeader"
}

resource "aws_cloudfront_distribution" "web" {
  count = var.enable_cdn ? 1 : 0

  enabled         = true
  is_ipv6_enabled = true
  comment         = "${local.prefix} ${var.web_origin == "ecs" ? "Next.js (ECS)" : "SPA"} + same-origin /api/*"

  default_root_object = var.web_origin == "ecs" ? null : "index.html"

  aliases     = [var.web_domain, local.www_domain]
  price_class = "PriceClass_200" # includes India
  web_acl_id  = var.enable_waf ? aws_wafv2_web_acl.web[0].arn : null

  origin {
    origin_id                = "spa"
    domain_name              = aws_s3_bucket.spa[0].bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.spa[0].id
  }

  origin {
    origin_id   = "api"
    domain_name = var.api_domain

    custom_origin_config {
      http_port                = 80
      https_port               = 443
      origin_protocol_policy   = "https-only"
      origin_ssl_protocols     = ["TLSv1.2"]
      origin_read_timeout      = var.cloudfront_origin_read_timeout
      origin_keepalive_timeout = 60
    }
  }

  # Default behavior serves the SITE.
  #   spa mode -> S3 bucket, CachingOptimized, GET/HEAD, spa_router (rewrite).
  #   ecs mode -> ALB origin ("api"), CachingDisabled + AllViewerExceptHostHeader
  default_cache_behavior {
    target_origin_id       = var.web_origin == "ecs" ? "api" : "spa"
    viewer_protocol_policy = "redirect-to-https"
    allowed_methods        = var.web_origin == "ecs" ? ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"] : ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    compress               = true

    cache_policy_id = var.web_origin == "ecs" ? data.aws_cloudfront_cache_policy.caching_disabled.id : data.aws_cloudfront_cache_policy.caching_optimized.id

    origin_request_policy_id = var.web_origin == "ecs" ? data.aws_cloudfront_origin_request_policy.all_viewer_except_host.id : null

    function_association {
      event_type   = "viewer-request"
      function_arn = var.web_origin == "ecs" ? aws_cloudfront_function.www_redirect[0].arn : aws_cloudfront_function.spa_router[0].arn
    }
  }

  ordered_cache_behavior {
    path_pattern             = "/api/*"
    target_origin_id         = "api"
    viewer_protocol_policy   = "https-only"
    allowed_methods          = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
    cached_methods           = ["GET", "HEAD"]
    compress                 = true
    cache_policy_id          = data.aws_cloudfront_cache_policy.caching_disabled.id
    origin_request_policy_id = data.aws_cloudfront_origin_request_policy.all_viewer_except_host.id
  }

  ordered_cache_behavior {
    path_pattern           = "/.well-known/*"
    target_origin_id       = var.web_origin == "ecs" ? "api" : "spa"
    viewer_protocol_policy = "redirect-to-https"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    compress               = true
    cache_policy_id        = data.aws_cloudfront_cache_policy.caching_disabled.id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    acm_certificate_arn      = aws_acm_certificate_validation.web[0].certificate_arn
    ssl_support_method       = "sni-only"
    minimum_protocol_version = "TLSv1.2_2021"
  }

  tags = local.tags
}
