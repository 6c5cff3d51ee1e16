package deploy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// manifests are the decoded objects of kubernetes/*.yaml.
type manifests struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
}

// documentSeparator splits a YAML stream into its documents.
var documentSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// readManifests decodes every document of kubernetes/*.yaml strictly into
// its k8s.io/api type: an unknown or misplaced field, a duplicate one, or
// a kind this test does not know fails.
func readManifests(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in kubernetes/: %v", err)
	}
	var m manifests
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range documentSeparator.Split(string(data), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s, document %d: %v", file, i+1, err)
			}
			var obj any
			switch tm.APIVersion + "/" + tm.Kind {
			case "apps/v1/Deployment":
				d := new(appsv1.Deployment)
				m.deployments, obj = append(m.deployments, d), d
			case "v1/Service":
				s := new(corev1.Service)
				m.services, obj = append(m.services, s), s
			default:
				t.Fatalf("%s, document %d: %s %s: a kind this test cannot check", file, i+1, tm.APIVersion, tm.Kind)
			}
			if err := decodeStrict([]byte(doc), obj); err != nil {
				t.Errorf("%s, document %d (%s): %v", file, i+1, tm.Kind, err)
			}
		}
	}
	return m
}

// decodeStrict decodes a YAML document into obj as the API server does:
// field names are case-sensitive, and an unknown or repeated field is an
// error. (encoding/json, which sigs.k8s.io/yaml's UnmarshalStrict uses,
// would take readOnlyRootFileSystem for readOnlyRootFilesystem.)
func decodeStrict(doc []byte, obj any) error {
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(data, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// The strict decoding refuses what a typo looks like.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	data, err := os.ReadFile("kubernetes/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, typo := range []struct{ from, to string }{
		{"readinessProbe:", "readynessProbe:"},
		{"readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true"},
		{"      terminationGracePeriodSeconds: 35", "      terminationGracePeriodSeconds: 35\n      terminationGracePeriodSeconds: 5"},
	} {
		bad := bytes.Replace(data, []byte(typo.from), []byte(typo.to), 1)
		if bytes.Equal(bad, data) {
			t.Fatalf("%q not in deployment.yaml", typo.from)
		}
		if err := decodeStrict(bad, new(appsv1.Deployment)); err == nil {
			t.Errorf("%s decoded without an error", typo.to)
		}
	}
}

// sidecarOf returns the Deployment's cachefence container, and the other
// one (the application).
func sidecarOf(t *testing.T, d *appsv1.Deployment) (sidecar, app *corev1.Container) {
	t.Helper()
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 2 {
		t.Fatalf("deployment %s: %d containers, want the application and cachefence", d.Name, len(cs))
	}
	i := slices.IndexFunc(cs, func(c corev1.Container) bool { return c.Name == "cachefence" })
	if i < 0 {
		t.Fatalf("deployment %s: no container named cachefence", d.Name)
	}
	return &cs[i], &cs[1-i]
}

func portNamed(c *corev1.Container, name string) *corev1.ContainerPort {
	i := slices.IndexFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == name })
	if i < 0 {
		return nil
	}
	return &c.Ports[i]
}

// The example is what the issue asks of a pod that runs the sidecar: the
// Service targets the sidecar, probes, requests and limits, a read-only
// root filesystem, a non-root user, the key from a Secret, scraping.
func TestKubernetesManifests(t *testing.T) {
	m := readManifests(t)
	if len(m.deployments) != 1 || len(m.services) != 1 {
		t.Fatalf("%d deployments and %d services, want one of each", len(m.deployments), len(m.services))
	}
	d, svc := m.deployments[0], m.services[0]
	sidecar, app := sidecarOf(t, d)
	pod := d.Spec.Template.Spec

	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the service selects %s=%s, which the pods do not carry", k, v)
		}
	}
	for _, sp := range svc.Spec.Ports {
		target := sp.TargetPort
		if target.Type != intstr.String || portNamed(sidecar, target.StrVal) == nil {
			t.Errorf("service port %s targets %s, want a port of the cachefence container by name", sp.Name, target.String())
		}
	}
	if p := portNamed(sidecar, "metrics"); p == nil {
		t.Error("the sidecar has no port named metrics")
	} else if got := d.Spec.Template.Annotations["prometheus.io/port"]; got != itoa(p.ContainerPort) {
		t.Errorf("prometheus.io/port %q, want the metrics port %d", got, p.ContainerPort)
	}
	if d.Spec.Template.Annotations["prometheus.io/scrape"] != "true" {
		t.Error("no prometheus.io/scrape annotation")
	}

	for name, probe := range map[string]*corev1.Probe{"readiness": sidecar.ReadinessProbe, "liveness": sidecar.LivenessProbe} {
		if probe == nil || probe.HTTPGet == nil {
			t.Errorf("the sidecar has no HTTP %s probe", name)
			continue
		}
		if probe.HTTPGet.Port.StrVal != "metrics" {
			t.Errorf("%s probe on port %s, want the port named metrics", name, probe.HTTPGet.Port.String())
		}
	}
	for _, c := range []*corev1.Container{sidecar, app} {
		if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
			t.Errorf("container %s: want memory requests and limits and a CPU request", c.Name)
		}
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("container %s: want a read-only root filesystem and no privilege escalation", c.Name)
		}
	}
	if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("the pod does not require a non-root user")
	}
	if sc := sidecar.SecurityContext; sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Error("the sidecar runs as root")
	}

	keyFile := flagValue(sidecar.Args, "owner-stamp-key-file")
	mount := slices.IndexFunc(sidecar.VolumeMounts, func(vm corev1.VolumeMount) bool {
		return keyFile != "" && strings.HasPrefix(keyFile, vm.MountPath+"/")
	})
	if mount < 0 {
		t.Fatalf("--owner-stamp-key-file %q is on no volume of the sidecar", keyFile)
	}
	vol := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == sidecar.VolumeMounts[mount].Name })
	if vol < 0 || pod.Volumes[vol].Secret == nil {
		t.Errorf("--owner-stamp-key-file %q: its volume is not a Secret", keyFile)
	}

	grace := pod.TerminationGracePeriodSeconds
	if grace == nil || float64(*grace) <= seconds(t, flagValue(sidecar.Args, "shutdown-delay"))+seconds(t, flagValue(sidecar.Args, "grace-period")) {
		t.Errorf("terminationGracePeriodSeconds %v: want more than the sidecar's shutdown delay and grace period", grace)
	}
}

// The sidecar's command line in the manifest (the image's entrypoint and
// the container's args) is one the binary accepts; its ports are the
// container's; its --to is the application's port; and the probes' paths
// answer when the binary runs with it.
func TestKubernetesSidecarRuns(t *testing.T) {
	d := readManifests(t).deployments[0]
	sidecar, app := sidecarOf(t, d)
	img := readDockerfile(t, "Dockerfile")
	command := append(slices.Clone(img.entrypoint[1:]), sidecar.Args...)
	if len(sidecar.Command) > 0 {
		t.Fatalf("the container replaces the image's entrypoint (%q); this test reads it from the Dockerfile", sidecar.Command)
	}
	accepts(t, "the cachefence container", command)

	for flag, portName := range map[string]string{"from": "http", "metrics": "metrics"} {
		p := portNamed(sidecar, portName)
		if p == nil {
			t.Errorf("no container port named %s", portName)
			continue
		}
		if got := port(t, flagValue(command, flag)); got != itoa(p.ContainerPort) {
			t.Errorf("--%s listens on port %s, container port %s is %d", flag, got, portName, p.ContainerPort)
		}
	}
	to := flagValue(command, "to")
	if host, _, _ := net.SplitHostPort(to); host != "127.0.0.1" || !slices.ContainsFunc(app.Ports, func(p corev1.ContainerPort) bool {
		return itoa(p.ContainerPort) == port(t, to)
	}) {
		t.Errorf("--to %s: want the application's port on the pod's loopback", to)
	}

	// Run it, on free ports of 127.0.0.1 and with a key file of the test,
	// in front of an origin that answers.
	origin := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page") })}
	l := listen(t)
	go origin.Serve(l)
	defer origin.Close()
	keyFile := filepath.Join(t.TempDir(), "owner-stamp-key")
	if err := os.WriteFile(keyFile, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	from, metrics := freeAddr(t), freeAddr(t)
	local := append(slices.Clone(command), "--from", from, "--metrics", metrics, "--to", l.Addr().String(), "--owner-stamp-key-file", keyFile)
	out := startSidecar(t, "http://"+metrics+sidecar.LivenessProbe.HTTPGet.Path, local...)
	for name, probe := range map[string]*corev1.Probe{"readiness": sidecar.ReadinessProbe, "liveness": sidecar.LivenessProbe} {
		resp, err := http.Get("http://" + metrics + probe.HTTPGet.Path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s probe %s: %d, want 200:\n%s", name, probe.HTTPGet.Path, resp.StatusCode, out)
		}
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// seconds parses a duration flag's value.
func seconds(t *testing.T, value string) float64 {
	t.Helper()
	d, err := time.ParseDuration(value)
	if err != nil {
		t.Fatalf("duration %q: %v", value, err)
	}
	return d.Seconds()
}
