package cloudfront

import (
	"strings"
)

// managedCachePolicy is what one of AWS's managed cache policies does: its
// documented TTLs, and whether its cache key holds every cookie and the
// Authorization header.
type managedCachePolicy struct {
	id, name       string
	minTTL, maxTTL int64
	cookies        string
	authorization  bool
}

// managedCachePolicies are the managed cache policies, as AWS documents
// them at
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
// The Amplify-* ones (used by Amplify Hosting) are not described there;
// their settings are those `aws cloudfront list-cache-policies --type
// managed` prints. A behavior names a policy by ID (API, CloudFormation)
// or, through a Terraform data source, by name, with or without the
// "Managed-" prefix that only some of the names carry.
var managedCachePolicies = []managedCachePolicy{
	{"658327ea-f89d-4fab-a63d-7e88639e58f6", "CachingOptimized", 1, 31536000, "none", false},
	{"b2884449-e4de-46a7-ac36-70bc7f1ddd6d", "CachingOptimizedForUncompressedObjects", 1, 31536000, "none", false},
	{"4135ea2d-6df8-44a3-9df3-4b5a84be39ad", "CachingDisabled", 0, 0, "none", false},
	{"08627262-05a9-4f76-9ded-b50ca2e3a84f", "Elemental-MediaPackage", 0, 31536000, "none", false},
	{"2e54312d-136d-493c-8eb9-b001f22f67d2", "Amplify", 2, 600, "all", true},
	{"83da9c7e-98b4-4e11-a168-04f0df8e2c65", "UseOriginCacheControlHeaders", 0, 31536000, "all", false},
	{"4cc15a8a-d715-48a4-82b8-cc0b614638fe", "UseOriginCacheControlHeaders-QueryStrings", 0, 31536000, "all", false},
	{"4d1d2f1d-3a71-49ad-9e08-7ea5d843a556", "Amplify-Default", 0, 31536000, "all", true},
	{"a6bad946-36c3-4c33-aa98-362c74a7fb13", "Amplify-DefaultNoCookies", 0, 31536000, "none", true},
	{"1c6db51a-a33f-469a-8245-dae26771f530", "Amplify-ImageOptimization", 0, 31536000, "none", true},
	{"7e5fad67-ee98-4ad0-b05a-394999eefc1a", "Amplify-StaticContent", 0, 31536000, "none", true},
}

// managedOriginRequestPolicy is one of AWS's managed origin request
// policies: which cookies it sends to the origin.
type managedOriginRequestPolicy struct {
	id, name, cookies string
}

// managedOriginRequestPolicies are the managed origin request policies, as
// AWS documents them at
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html
var managedOriginRequestPolicies = []managedOriginRequestPolicy{
	{"216adef6-5c7f-47e4-b989-5492eafa07d3", "AllViewer", "all"},
	{"33f36d7e-f396-46d9-90e0-52428a34d9dc", "AllViewerAndCloudFrontHeaders-2022-06", "all"},
	{"b689b0a8-53d0-40ab-baf2-68738e2966ac", "AllViewerExceptHostHeader", "all"},
	{"59781a5b-3903-41f3-afcb-af62929ccde1", "CORS-CustomOrigin", "none"},
	{"88a5eaf4-2fd4-4709-b370-b4c650ea3fcf", "CORS-S3Origin", "none"},
	{"775133bc-15f2-49f9-abea-afb2e0bf67d2", "Elemental-MediaTailor-PersonalizedManifests", "none"},
	{"bf0718e1-ba1e-49d1-88b1-f726733018ae", "HostHeaderOnly", "none"},
	{"acba4595-bd28-49b8-b9fe-13317c0390fa", "UserAgentRefererHeaders", "none"},
}

// managed finds a managed policy by its ID or its name, with or without
// the "Managed-" prefix.
func managed[P any](policies []P, key func(P) (id, name string), ref string) (P, bool) {
	name := strings.TrimPrefix(strings.ToLower(ref), "managed-")
	for _, p := range policies {
		id, n := key(p)
		if ref == id || name == strings.ToLower(n) {
			return p, true
		}
	}
	var zero P
	return zero, false
}

func managedCachePolicyFor(ref string) (managedCachePolicy, bool) {
	return managed(managedCachePolicies, func(p managedCachePolicy) (string, string) { return p.id, p.name }, ref)
}

func managedOriginRequestPolicyFor(ref string) (managedOriginRequestPolicy, bool) {
	return managed(managedOriginRequestPolicies, func(p managedOriginRequestPolicy) (string, string) { return p.id, p.name }, ref)
}
