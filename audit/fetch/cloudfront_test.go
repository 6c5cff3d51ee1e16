package fetch

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// The test's AWS credentials, which must never show.
const (
	awsKeyID   = "AKIAFENCETESTKEY0001"
	awsSecret  = "fence-aws-secret-do-not-print"
	awsSession = "fence-aws-session-do-not-print"
)

// cloudFrontAPI is a fake CloudFront API on 127.0.0.1: it answers
// GetDistributionConfig, GetCachePolicy and GetOriginRequestPolicy in
// REST-XML from testdata/cloudfront, checks each request is signed with
// the test's credentials, and lets a test answer some requests with an
// error instead.
type cloudFrontAPI struct {
	url string
	// fail, if set, answers a request instead: status, AWS error code
	// and message, or 0 to answer as usual.
	fail func(path string, n int) (int, string, string)
	mu   sync.Mutex
	hits map[string]int
}

var cloudFrontPath = regexp.MustCompile(`^/2020-05-31/(distribution/([^/]+)/config|cache-policy/([^/]+)|origin-request-policy/([^/]+))$`)

func startCloudFrontAPI(t *testing.T) *cloudFrontAPI {
	t.Helper()
	api := &cloudFrontAPI{hits: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.mu.Lock()
		api.hits[r.URL.Path]++
		n := api.hits[r.URL.Path]
		api.mu.Unlock()
		if !strings.Contains(r.Header.Get("Authorization"), "Credential="+awsKeyID+"/") || r.Header.Get("X-Amz-Security-Token") != awsSession {
			awsError(w, http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
			return
		}
		m := cloudFrontPath.FindStringSubmatch(r.URL.Path)
		if r.Method != http.MethodGet || m == nil {
			awsError(w, http.StatusNotFound, "NotFound", "no such operation")
			return
		}
		if api.fail != nil {
			if status, code, msg := api.fail(r.URL.Path, n); status != 0 {
				awsError(w, status, code, msg)
				return
			}
		}
		var file string
		switch {
		case m[2] != "":
			file = "distribution-config.xml"
		case m[3] != "":
			file = "cache-policy-" + m[3] + ".xml"
		default:
			file = "origin-request-policy-" + m[4] + ".xml"
		}
		body, err := os.ReadFile(filepath.Join("testdata", "cloudfront", filepath.Base(file)))
		if err != nil || m[2] != "" && m[2] != "E2QWRUHAPOMQZL" {
			awsError(w, http.StatusNotFound, "NoSuchDistribution", "The specified distribution does not exist.")
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Set("ETag", "E2QWRUHAPOMQZL")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	api.url = srv.URL
	return api
}

// awsError answers as CloudFront does when a request fails
// (https://docs.aws.amazon.com/cloudfront/latest/APIReference/CommonErrors.html):
// an ErrorResponse with the error's type, code and message.
func awsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0"?>
<ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>9c8a3f0e-0000-4000-8000-000000000000</RequestId></ErrorResponse>`, code, msg)
}

func (api *cloudFrontAPI) count(path string) int {
	api.mu.Lock()
	defer api.mu.Unlock()
	return api.hits[path]
}

// awsEnv points the standard credential chain at the test's static
// credentials and the SDK at api, as a user's environment would, with
// nothing read from the machine's own AWS files or instance metadata.
func awsEnv(t *testing.T, api *cloudFrontAPI) {
	t.Setenv("AWS_ACCESS_KEY_ID", awsKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", awsSecret)
	t.Setenv("AWS_SESSION_TOKEN", awsSession)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDFRONT", api.url)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "credentials"))
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "")
}

const (
	customPolicy  = "/2020-05-31/cache-policy/b5a8c1d2-0f2e-4c53-9a47-6c1f5d3e8a10"
	managedPolicy = "/2020-05-31/cache-policy/658327ea-f89d-4fab-a63d-7e88639e58f6"
	allViewer     = "/2020-05-31/origin-request-policy/216adef6-5c7f-47e4-b989-5492eafa07d3"
	distConfig    = "/2020-05-31/distribution/E2QWRUHAPOMQZL/config"
)

// A distribution fetched through the SDK, with the standard credential
// chain, audits as its exported files do: its configuration and every
// policy its behaviors name, each asked for once. Failures are errors
// that say what to check, and no credential shows.
func TestCloudFront(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   string
		fail func(path string, n int) (int, string, string)
		// err is what the error must say, or "" for none.
		err  []string
		hits map[string]int
	}{
		{name: "the distribution and its policies", id: "E2QWRUHAPOMQZL",
			hits: map[string]int{distConfig: 1, customPolicy: 1, managedPolicy: 1, allViewer: 1}},
		{name: "throttled, then answered", id: "E2QWRUHAPOMQZL",
			fail: func(path string, n int) (int, string, string) {
				if path == distConfig && n == 1 {
					return http.StatusBadRequest, "Throttling", "Rate exceeded"
				}
				return 0, "", ""
			},
			hits: map[string]int{distConfig: 2, customPolicy: 1}},
		{name: "an expired token", id: "E2QWRUHAPOMQZL",
			fail: func(string, int) (int, string, string) {
				return http.StatusForbidden, "ExpiredToken", "The security token included in the request is expired"
			},
			err:  []string{"GetDistributionConfig", "StatusCode: 403", "ExpiredToken", "check the AWS credentials"},
			hits: map[string]int{distConfig: 1, customPolicy: 0}},
		{name: "a policy the credentials may not read", id: "E2QWRUHAPOMQZL",
			fail: func(path string, _ int) (int, string, string) {
				if path == customPolicy {
					return http.StatusForbidden, "AccessDenied", "User is not authorized to perform: cloudfront:GetCachePolicy"
				}
				return 0, "", ""
			},
			err: []string{"cache policy b5a8c1d2-0f2e-4c53-9a47-6c1f5d3e8a10", "AccessDenied", "cloudfront:GetCachePolicy and"}},
		{name: "no such distribution", id: "E0000000000000",
			err: []string{"NoSuchDistribution", "StatusCode: 404"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := startCloudFrontAPI(t)
			api.fail = tc.fail
			awsEnv(t, api)
			client, err := NewCloudFrontClient(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			src, err := Parse(context.Background(), "cloudfront:"+tc.id,
				Options{CloudFront: func(context.Context) (CloudFrontAPI, error) { return client, nil }})
			if err != nil {
				t.Fatal(err)
			}
			files, err := src.Fetch(context.Background())
			noSecret(t, texts(files, err), awsKeyID, awsSecret, awsSession)
			for path, n := range tc.hits {
				if got := api.count(path); got != n {
					t.Errorf("%s asked for %d times, want %d", path, got, n)
				}
			}
			if failed(t, files, err, tc.err) {
				return
			}
			var names []string
			for _, f := range files {
				names = append(names, f.Path)
			}
			want := "cloudfront:E2QWRUHAPOMQZL/distribution-config.json " +
				"cloudfront:E2QWRUHAPOMQZL/cache-policy-b5a8c1d2-0f2e-4c53-9a47-6c1f5d3e8a10.json " +
				"cloudfront:E2QWRUHAPOMQZL/cache-policy-658327ea-f89d-4fab-a63d-7e88639e58f6.json " +
				"cloudfront:E2QWRUHAPOMQZL/origin-request-policy-216adef6-5c7f-47e4-b989-5492eafa07d3.json"
			if got := strings.Join(names, " "); got != want {
				t.Errorf("files %s\nwant  %s", got, want)
			}
			sameAsFiles(t, files, "../cloudfront/testdata/proxy")
		})
	}
}
