// Package deploy holds cachefence's deployment artefacts, and the tests
// that check them against the binary they deploy:
//
//   - Dockerfile: the sidecar's container image (static binary, scratch,
//     non-root);
//   - kubernetes/: a Deployment with an application and the sidecar, and
//     its Service;
//   - systemd/: a hardened unit;
//   - prometheus/: recording and alerting rules, with promtool unit tests.
//
// It is a module of its own, so that the Kubernetes types its tests decode
// the manifests into are no dependency of cachefence itself. Its tests
// build ../cmd/cachefence from the repository's root.
package deploy
