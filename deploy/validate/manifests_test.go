package validate

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// manifests reads the YAML documents of a file in deploy/.
func manifests(t *testing.T, name string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", name))
	if err != nil {
		t.Fatal(err)
	}
	var docs [][]byte
	for _, d := range bytes.Split(data, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

// decode decodes one document strictly into its API type, by kind.
func decode(t *testing.T, doc []byte) any {
	t.Helper()
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		t.Fatal(err)
	}
	var obj any
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 Namespace":
		obj = &corev1.Namespace{}
	case "v1 Secret":
		obj = &corev1.Secret{}
	case "v1 Service":
		obj = &corev1.Service{}
	case "v1 ConfigMap":
		obj = &corev1.ConfigMap{}
	case "apps/v1 Deployment":
		obj = &appsv1.Deployment{}
	default:
		t.Fatalf("unexpected %s %s", tm.APIVersion, tm.Kind)
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		t.Fatalf("%s: %v", tm.Kind, err)
	}
	return obj
}

// kubeconfig is the part of client-go's clientcmd v1 Config a webhook kubeconfig uses,
// with the same JSON names; decoding strictly into it finds misspelt keys.
type kubeconfig struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Clusters   []struct {
		Name    string `json:"name"`
		Cluster struct {
			Server                   string `json:"server"`
			CertificateAuthorityData string `json:"certificate-authority-data"`
		} `json:"cluster"`
	} `json:"clusters"`
	Users []struct {
		Name string `json:"name"`
		User struct {
			Token                 string `json:"token"`
			ClientCertificateData string `json:"client-certificate-data"`
			ClientKeyData         string `json:"client-key-data"`
		} `json:"user"`
	} `json:"users"`
	Contexts []struct {
		Name    string `json:"name"`
		Context struct {
			Cluster string `json:"cluster"`
			User    string `json:"user"`
		} `json:"context"`
	} `json:"contexts"`
	CurrentContext string `json:"current-context"`
}

// policy is audit.k8s.io/v1 Policy as far as deploy/ uses it, with the same JSON names.
type policy struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	OmitStages []string `json:"omitStages"`
	Rules      []struct {
		Level           string   `json:"level"`
		Users           []string `json:"users"`
		Verbs           []string `json:"verbs"`
		NonResourceURLs []string `json:"nonResourceURLs"`
		Resources       []struct {
			Group     string   `json:"group"`
			Resources []string `json:"resources"`
		} `json:"resources"`
	} `json:"rules"`
}

func TestManifests(t *testing.T) {
	var dep *appsv1.Deployment
	var svc *corev1.Service
	secrets := map[string]*corev1.Secret{}
	for _, name := range []string{"tripline.yaml", "audit-webhook.yaml"} {
		for _, doc := range manifests(t, name) {
			switch o := decode(t, doc).(type) {
			case *appsv1.Deployment:
				dep = o
			case *corev1.Service:
				svc = o
			case *corev1.Secret:
				secrets[o.Name] = o
			}
		}
	}
	if dep == nil || svc == nil || len(secrets) != 2 {
		t.Fatalf("want a Deployment, a Service and 2 Secrets; got %v %v %d", dep != nil, svc != nil, len(secrets))
	}

	// The Deployment selects its own pods, and the Service selects them.
	pod := dep.Spec.Template
	for k, v := range dep.Spec.Selector.MatchLabels {
		if pod.Labels[k] != v || svc.Spec.Selector[k] != v {
			t.Errorf("label %s=%s: pod has %q, Service selects %q", k, v, pod.Labels[k], svc.Spec.Selector[k])
		}
	}
	c := pod.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if _, ok := ports[svc.Spec.Ports[0].TargetPort.StrVal]; !ok {
		t.Errorf("Service targetPort %q is no port of the container", svc.Spec.Ports[0].TargetPort.StrVal)
	}
	for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
		if _, ok := ports[p.HTTPGet.Port.StrVal]; !ok || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Scheme != corev1.URISchemeHTTPS {
			t.Errorf("probe %+v: want HTTPS /healthz on a container port", p.HTTPGet)
		}
	}
	// Every mount has its volume; the credentials come from an existing Secret key.
	vols := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		vols[v.Name] = true
	}
	for _, m := range c.VolumeMounts {
		if !vols[m.Name] {
			t.Errorf("mount %s has no volume", m.Name)
		}
	}
	ref := c.Env[0].ValueFrom.SecretKeyRef
	if s := secrets[ref.Name]; s == nil || s.StringData[ref.Key] == "" {
		t.Errorf("env %s: Secret %s has no key %s", c.Env[0].Name, ref.Name, ref.Key)
	}
	if !slices.Contains(c.Args, "--listen=:"+itoa(ports["https"])) || !slices.Contains(c.Args, "--credentials-env="+c.Env[0].Name) {
		t.Errorf("args %q do not listen on the https port or read the credentials variable", c.Args)
	}

	// The API server's kubeconfig names the Service's address and port, and a token the
	// credentials hold.
	wh := secrets["tripline-audit-webhook"]
	var kc kubeconfig
	if err := yaml.UnmarshalStrict([]byte(wh.StringData["kubeconfig"]), &kc); err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	u, err := url.Parse(kc.Clusters[0].Cluster.Server)
	if err != nil {
		t.Fatal(err)
	}
	if kc.APIVersion != "v1" || kc.Kind != "Config" || kc.CurrentContext != kc.Contexts[0].Name ||
		u.Scheme != "https" || u.Hostname() != svc.Spec.ClusterIP || u.Port() != itoa(svc.Spec.Ports[0].Port) || u.Path != "/k8s-audit" {
		t.Errorf("kubeconfig %+v does not point at https://%s:%d/k8s-audit", kc, svc.Spec.ClusterIP, svc.Spec.Ports[0].Port)
	}
	creds := secrets["tripline-credentials"].StringData["credentials"]
	if tok := kc.Users[0].User.Token; !strings.Contains(creds, ":"+tok+"\n") {
		t.Errorf("the kubeconfig's token is not in the credentials Secret")
	}
	var pol policy
	if err := yaml.UnmarshalStrict([]byte(wh.StringData["policy.yaml"]), &pol); err != nil {
		t.Fatalf("policy: %v", err)
	}
	if pol.APIVersion != "audit.k8s.io/v1" || pol.Kind != "Policy" || pol.Rules[len(pol.Rules)-1].Level != "Metadata" {
		t.Errorf("policy %+v: want an audit.k8s.io/v1 Policy ending with a Metadata rule for everything else", pol)
	}
	for _, r := range pol.Rules {
		switch r.Level {
		case "None", "Metadata", "Request", "RequestResponse":
		default:
			t.Errorf("policy rule level %q", r.Level)
		}
	}
}

func itoa(n int32) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}
