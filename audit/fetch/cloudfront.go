package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/smithy-go"

	"github.com/cachefence/cachefence/audit"
)

// CloudFrontAPI is what a CloudFront source calls: *cloudfront.Client.
type CloudFrontAPI interface {
	GetDistributionConfig(context.Context, *cloudfront.GetDistributionConfigInput, ...func(*cloudfront.Options)) (*cloudfront.GetDistributionConfigOutput, error)
	GetCachePolicy(context.Context, *cloudfront.GetCachePolicyInput, ...func(*cloudfront.Options)) (*cloudfront.GetCachePolicyOutput, error)
	GetOriginRequestPolicy(context.Context, *cloudfront.GetOriginRequestPolicyInput, ...func(*cloudfront.Options)) (*cloudfront.GetOriginRequestPolicyOutput, error)
}

// NewCloudFrontClient makes a CloudFront client from the standard
// credential chain (environment, shared files and profiles, SSO, web
// identity, container and instance roles) and the standard endpoint
// settings (AWS_ENDPOINT_URL_CLOUDFRONT). CloudFront is global: without
// a region configured, us-east-1, where its API signs, is used.
func NewCloudFrontClient(ctx context.Context) (CloudFrontAPI, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithDefaultRegion("us-east-1"))
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	return cloudfront.NewFromConfig(cfg), nil
}

// CloudFront is a distribution: its configuration, and every cache and
// origin request policy its behaviors name.
type CloudFront struct {
	// ID is the distribution's ID.
	ID string
	// API is the client, shared by every distribution.
	API CloudFrontAPI
}

// Name is "cloudfront:ID".
func (c *CloudFront) Name() string { return "cloudfront:" + c.ID }

// Fetch returns the distribution's configuration and its policies, each
// written as `aws cloudfront get-distribution-config`, get-cache-policy
// and get-origin-request-policy print them, so that the cloudfront reader
// joins them as it joins exported files.
func (c *CloudFront) Fetch(ctx context.Context) ([]audit.File, error) {
	files, err := c.fetch(ctx)
	return files, scrubbed(err)
}

func (c *CloudFront) fetch(ctx context.Context) ([]audit.File, error) {
	dist, err := c.API.GetDistributionConfig(ctx, &cloudfront.GetDistributionConfigInput{Id: aws.String(c.ID)})
	if err != nil {
		return nil, explainAWS(err)
	}
	f, err := c.file("distribution-config.json", map[string]any{"ETag": dist.ETag, "DistributionConfig": dist.DistributionConfig})
	if err != nil {
		return nil, err
	}
	files := []audit.File{f}
	cachePolicies, requestPolicies := policyIDs(dist.DistributionConfig)
	for _, id := range cachePolicies {
		out, err := c.API.GetCachePolicy(ctx, &cloudfront.GetCachePolicyInput{Id: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("cache policy %s: %w", id, explainAWS(err))
		}
		f, err := c.file("cache-policy-"+id+".json", map[string]any{"ETag": out.ETag, "CachePolicy": out.CachePolicy})
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	for _, id := range requestPolicies {
		out, err := c.API.GetOriginRequestPolicy(ctx, &cloudfront.GetOriginRequestPolicyInput{Id: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("origin request policy %s: %w", id, explainAWS(err))
		}
		f, err := c.file("origin-request-policy-"+id+".json", map[string]any{"ETag": out.ETag, "OriginRequestPolicy": out.OriginRequestPolicy})
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// policyIDs lists the cache and origin request policies the behaviors
// name, each once, in the order they are named.
func policyIDs(d *types.DistributionConfig) (cache, request []string) {
	if d == nil {
		return nil, nil
	}
	seen := map[string]bool{}
	add := func(list *[]string, id *string) {
		if id != nil && *id != "" && !seen[*id] {
			seen[*id] = true
			*list = append(*list, *id)
		}
	}
	if b := d.DefaultCacheBehavior; b != nil {
		add(&cache, b.CachePolicyId)
		add(&request, b.OriginRequestPolicyId)
	}
	if d.CacheBehaviors != nil {
		for _, b := range d.CacheBehaviors.Items {
			add(&cache, b.CachePolicyId)
			add(&request, b.OriginRequestPolicyId)
		}
	}
	return cache, request
}

// file writes v as the AWS CLI prints it: the API's names, four-space
// indents, and no empty fields (the SDK's structs hold every field the
// API could send, as nil when it did not).
func (c *CloudFront) file(name string, v any) (audit.File, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return audit.File{}, fmt.Errorf("encoding %s: %w", name, err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return audit.File{}, fmt.Errorf("encoding %s: %w", name, err)
	}
	if data, err = json.MarshalIndent(prune(doc), "", "    "); err != nil {
		return audit.File{}, fmt.Errorf("encoding %s: %w", name, err)
	}
	return audit.File{Path: c.Name() + "/" + name, Data: append(data, '\n')}, nil
}

// prune removes null fields: the fields the API did not send.
func prune(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if x == nil {
				delete(v, k)
				continue
			}
			v[k] = prune(x)
		}
	case []any:
		for i, x := range v {
			v[i] = prune(x)
		}
	}
	return v
}

// explainAWS adds what to check to the errors of credentials and
// permissions. The SDK's errors name the operation, the status and AWS's
// code and message, never the credentials.
func explainAWS(err error) error {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return err
	}
	switch api.ErrorCode() {
	case "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException":
		return fmt.Errorf("%w (check the AWS credentials: the standard chain, AWS_PROFILE, SSO or a role)", err)
	case "AccessDenied", "AccessDeniedException":
		return fmt.Errorf("%w (the credentials need cloudfront:GetDistributionConfig, cloudfront:GetCachePolicy and cloudfront:GetOriginRequestPolicy)", err)
	}
	return err
}
