# Source: terraform-google-modules/docs-examples backend_bucket_full/main.tf@6faeee737f7551a78cd4efba96698c545452a396, with modular-magician/docs-examples backend_service_coalescing/main.tf@059f91900d7a7f22781f2cd70cdcefb5e90ac4ab appended
resource "google_compute_backend_bucket" "image_backend_full" {
  name        = "image-backend-bucket-full-${local.name_suffix}"
  description = "Contains beautiful beta mages"
  bucket_name = google_storage_bucket.image_backend_full.name
  enable_cdn  = true
  cdn_policy {
    cache_mode = "CACHE_ALL_STATIC"
    default_ttl = 3600
    client_ttl  = 7200
    max_ttl     = 10800
    negative_caching = true
  }
  custom_response_headers = [
    "X-Client-Geo-Location:{client_region},{client_city}",
    "X-Tested-By:Magic-Modules"
  ]
}

resource "google_storage_bucket" "image_backend_full" {
  name     = "image-store-bucket-full-${local.name_suffix}"
  location = "EU"
}

resource "google_compute_backend_service" "default" {
  name        = "backend-service-${local.name_suffix}"
  description = "Coalescing Activated"
  enable_cdn  = true
  cdn_policy {
    request_coalescing = true
    signed_url_cache_max_age_sec = 7200
  }
}
