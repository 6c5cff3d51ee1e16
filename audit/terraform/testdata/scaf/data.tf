# Source: sixfeetup/scaf {{cookiecutter.project_slug}}/terraform/modules/application/data.tf@1f7c214de306070611d546b7e81743e421872b52
data "aws_cloudfront_cache_policy" "caching_optimized" {
  name = "Managed-CachingOptimized"
}

data "aws_cloudfront_origin_request_policy" "all_viewer_except_host" {
  name = "Managed-AllViewerExceptHostHeader"
}
