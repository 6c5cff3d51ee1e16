# Source: made by hand, as the reference directs for FORCE_CACHE_ALL (no public file with a repository and path was found): the shape of modular-magician/docs-examples backend_service_coalescing/main.tf@059f91900d7a7f22781f2cd70cdcefb5e90ac4ab with cache_mode FORCE_CACHE_ALL, a backend bucket beside it that may use it, and a mode left to a variable
resource "google_compute_backend_service" "app" {
  name        = "app-backend"
  enable_cdn  = true
  cdn_policy {
    cache_mode  = "FORCE_CACHE_ALL"
    default_ttl = 3600
  }
}

resource "google_compute_backend_bucket" "assets" {
  name        = "assets-backend"
  bucket_name = "assets"
  enable_cdn  = true
  cdn_policy {
    cache_mode = "FORCE_CACHE_ALL"
  }
}

resource "google_compute_backend_service" "api" {
  name       = "api-backend"
  enable_cdn = var.cdn
  cdn_policy {
    cache_mode = var.cache_mode
  }
}
