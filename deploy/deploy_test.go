// Package deploy holds the Kubernetes manifests (knative/, keda/) for the
// OCR host; the repository root holds its Dockerfile. These tests read the
// host's own source (configuration, routes, event types, asset paths) and
// fail when a manifest or the Dockerfile no longer agrees with it, so that a
// renamed variable or route breaks the build instead of a deployment.
package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ocrhost/ocrhost/memory"
)

// The repository root, relative to this package's directory (go test runs
// in it).
const root = ".."

// knativeDrain is how long queue-proxy drains before the user container is
// signalled (Knative's drainSleepDuration); it comes out of the revision's
// timeoutSeconds, which is also the pod's termination grace period.
const knativeDrain = 30 * time.Second

// ---------------------------------------------------------------- the host

// hostVar is one OCRHOST_* variable of cmd/host/config.go.
type hostVar struct {
	goType     string // "int", "string", "time.Duration", ...
	def        string
	hasDefault bool
}

// hostConfig parses the envconfig tags of the config struct in
// cmd/host/config.go, and of the structs it embeds (NATSAuth, in another
// file of the package), keyed by the full variable name.
func hostConfig(t *testing.T) map[string]hostVar {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "cmd", "host", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	structs := map[string]*ast.StructType{}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		ast.Inspect(parseGo(t, file), func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok {
				if st, ok := ts.Type.(*ast.StructType); ok {
					structs[ts.Name.Name] = st
				}
			}
			return true
		})
	}
	if structs["config"] == nil {
		t.Fatalf("cmd/host: no struct type config")
	}
	vars := map[string]hostVar{}
	var add func(st *ast.StructType)
	add = func(st *ast.StructType) {
		for _, field := range st.Fields.List {
			if field.Tag == nil {
				if id, ok := field.Type.(*ast.Ident); ok && len(field.Names) == 0 && structs[id.Name] != nil {
					add(structs[id.Name]) // embedded: envconfig reads its fields as the config's own
				}
				continue
			}
			raw, err := strconv.Unquote(field.Tag.Value)
			if err != nil {
				t.Fatalf("cmd/host: tag %s: %v", field.Tag.Value, err)
			}
			tag := reflect.StructTag(raw)
			name, ok := tag.Lookup("envconfig")
			if !ok {
				continue
			}
			def, hasDef := tag.Lookup("default")
			vars["OCRHOST_"+name] = hostVar{goType: exprString(field.Type), def: def, hasDefault: hasDef}
		}
	}
	add(structs["config"])
	if len(vars) == 0 {
		t.Fatalf("config.go: no envconfig tags found in type config")
	}
	return vars
}

func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return exprString(e.X) + "." + e.Sel.Name
	}
	return fmt.Sprintf("%T", e)
}

// hostRoutes returns the paths serve.go registers for GET (or any method).
func hostRoutes(t *testing.T) map[string]bool {
	t.Helper()
	f := parseGo(t, filepath.Join(root, "cmd", "host", "serve.go"))
	routes := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
			return true
		}
		pattern, ok := stringLit(call.Args[0])
		if !ok {
			return true
		}
		method, p, found := strings.Cut(pattern, " ")
		if !found {
			method, p = "", pattern
		}
		if method == "" || method == "GET" {
			routes[p] = true
		}
		return true
	})
	for _, want := range []string{"/healthz", "/readyz"} {
		if !routes[want] {
			t.Fatalf("serve.go no longer registers GET %s (routes: %v); the probes and HEALTHCHECK rely on it", want, routes)
		}
	}
	return routes
}

// stringConsts returns the string constants declared in the Go files of dir.
func stringConsts(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	consts := map[string]string{}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		for _, decl := range parseGo(t, file).Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if s, ok := stringLit(vs.Values[i]); ok {
							consts[name.Name] = s
						}
					}
				}
			}
		}
	}
	return consts
}

// subcommands returns the string cases of cmd/host/main.go's command switch.
func subcommands(t *testing.T) map[string]bool {
	t.Helper()
	cmds := map[string]bool{}
	ast.Inspect(parseGo(t, filepath.Join(root, "cmd", "host", "main.go")), func(n ast.Node) bool {
		if cc, ok := n.(*ast.CaseClause); ok {
			for _, e := range cc.List {
				if s, ok := stringLit(e); ok {
					cmds[s] = true
				}
			}
		}
		return true
	})
	return cmds
}

func parseGo(t *testing.T, file string) *ast.File {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	return f
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatalf("%v", err)
	}
	return string(b)
}

// ------------------------------------------------------------ the manifests

// str is a YAML scalar that must be a string: Kubernetes rejects an
// unquoted 0 or true where it wants one (annotations, env values, KEDA
// trigger metadata), which a plain Go string field would silently accept.
type str string

func (s *str) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return fmt.Errorf("line %d: %q must be a quoted string, is %s", n.Line, n.Value, n.ShortTag())
	}
	*s = str(n.Value)
	return nil
}

// intOrString is a probe port: a number or a container port's name.
type intOrString string

func (s *intOrString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: port must be a scalar", n.Line)
	}
	*s = intOrString(n.Value)
	return nil
}

type meta struct {
	Name        string         `yaml:"name"`
	Annotations map[string]str `yaml:"annotations"`
	Labels      map[string]str `yaml:"labels"`
}

type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   meta   `yaml:"metadata"`

	file string
	node *yaml.Node
}

type envVar struct {
	Name  string `yaml:"name"`
	Value *str   `yaml:"value"`
}

type probe struct {
	HTTPGet *struct {
		Path string      `yaml:"path"`
		Port intOrString `yaml:"port"`
	} `yaml:"httpGet"`
}

type container struct {
	Name  string `yaml:"name"`
	Image string `yaml:"image"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env            []envVar `yaml:"env"`
	ReadinessProbe *probe   `yaml:"readinessProbe"`
	LivenessProbe  *probe   `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext *struct {
		RunAsUser    *int64 `yaml:"runAsUser"`
		RunAsNonRoot *bool  `yaml:"runAsNonRoot"`
	} `yaml:"securityContext"`
}

type knativeService struct {
	Spec struct {
		Template struct {
			Metadata meta `yaml:"metadata"`
			Spec     struct {
				ContainerConcurrency *int        `yaml:"containerConcurrency"`
				TimeoutSeconds       *int        `yaml:"timeoutSeconds"`
				Containers           []container `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type deployment struct {
	Spec struct {
		Template struct {
			Spec struct {
				TerminationGracePeriodSeconds *int        `yaml:"terminationGracePeriodSeconds"`
				Containers                    []container `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type ref struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Name       string `yaml:"name"`
}

type destination struct {
	Ref *ref   `yaml:"ref"`
	URI string `yaml:"uri"`
}

type delivery struct {
	Retry          *int         `yaml:"retry"`
	BackoffPolicy  string       `yaml:"backoffPolicy"`
	BackoffDelay   string       `yaml:"backoffDelay"`
	Timeout        string       `yaml:"timeout"`
	DeadLetterSink *destination `yaml:"deadLetterSink"`
}

type trigger struct {
	Spec struct {
		Broker string `yaml:"broker"`
		Filter *struct {
			Attributes map[string]str `yaml:"attributes"`
		} `yaml:"filter"`
		Filters    []any       `yaml:"filters"`
		Subscriber destination `yaml:"subscriber"`
		Delivery   *delivery   `yaml:"delivery"`
	} `yaml:"spec"`
}

type scaledObject struct {
	Spec struct {
		ScaleTargetRef struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicaCount *int `yaml:"minReplicaCount"`
		MaxReplicaCount *int `yaml:"maxReplicaCount"`
		Triggers        []struct {
			Type     string         `yaml:"type"`
			Metadata map[string]str `yaml:"metadata"`
		} `yaml:"triggers"`
	} `yaml:"spec"`
}

// manifests returns every YAML document under deploy/.
func manifests(t *testing.T) []object {
	t.Helper()
	var objs []object
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (path.Ext(p) != ".yaml" && path.Ext(p) != ".yml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var n yaml.Node
			if err := dec.Decode(&n); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if len(n.Content) == 0 {
				continue // an empty document between separators
			}
			o := object{file: p, node: &n}
			if err := n.Decode(&o); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
				return fmt.Errorf("%s line %d: apiVersion, kind and metadata.name are required", p, n.Line)
			}
			objs = append(objs, o)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// one returns the single object of apiVersion/kind, decoded into v.
func one(t *testing.T, objs []object, apiVersion, kind string, v any) object {
	t.Helper()
	var found []object
	for _, o := range objs {
		if o.APIVersion == apiVersion && o.Kind == kind {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one %s %s under deploy/, found %d", apiVersion, kind, len(found))
	}
	if err := found[0].node.Decode(v); err != nil {
		t.Fatalf("%s: %s: %v", found[0].file, kind, err)
	}
	return found[0]
}

func onlyContainer(t *testing.T, what string, cs []container) container {
	t.Helper()
	if len(cs) != 1 {
		t.Fatalf("%s: want one container, have %d", what, len(cs))
	}
	return cs[0]
}

func (c container) env(name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name && e.Value != nil {
			return string(*e.Value), true
		}
	}
	return "", false
}

// effective is the value the host would run with: the container's env, else
// the default in config.go.
func effective(t *testing.T, cfg map[string]hostVar, c container, name string) string {
	t.Helper()
	v, ok := cfg[name]
	if !ok {
		t.Fatalf("cmd/host/config.go does not read %s", name)
	}
	if s, ok := c.env(name); ok {
		return s
	}
	return v.def
}

func duration(t *testing.T, name, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return d
}

// workloads are the containers the manifests run, by a name for messages.
func workloads(t *testing.T, objs []object) map[string]container {
	t.Helper()
	var ks knativeService
	var dep deployment
	one(t, objs, "serving.knative.dev/v1", "Service", &ks)
	one(t, objs, "apps/v1", "Deployment", &dep)
	return map[string]container{
		"knative Service": onlyContainer(t, "knative Service", ks.Spec.Template.Spec.Containers),
		"keda Deployment": onlyContainer(t, "keda Deployment", dep.Spec.Template.Spec.Containers),
	}
}

// ------------------------------------------------------------------- tests

func TestManifestsParse(t *testing.T) {
	objs := manifests(t)
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.APIVersion+" "+o.Kind]++
	}
	for _, want := range []string{
		"serving.knative.dev/v1 Service", "eventing.knative.dev/v1 Broker", "eventing.knative.dev/v1 Trigger",
		"apps/v1 Deployment", "keda.sh/v1alpha1 ScaledObject",
	} {
		if kinds[want] == 0 {
			t.Errorf("no %s under deploy/ (have %v)", want, kinds)
		}
	}
	// Decoding every kind checks the string-typed fields (annotations, env
	// values, trigger metadata) are quoted.
	var ks knativeService
	var dep deployment
	var tr trigger
	var so scaledObject
	one(t, objs, "serving.knative.dev/v1", "Service", &ks)
	one(t, objs, "apps/v1", "Deployment", &dep)
	one(t, objs, "eventing.knative.dev/v1", "Trigger", &tr)
	one(t, objs, "keda.sh/v1alpha1", "ScaledObject", &so)
}

// TestEnvNamesExist fails when a file names a variable the host does not
// read, comments included (the commented GPU settings must stay right too).
// OCRHOST_JETSTREAM, OCRHOST_JS_STREAM and OCRHOST_JS_CONSUMER are the
// JetStream work-queue mode that deploy/keda runs.
func TestEnvNamesExist(t *testing.T) {
	cfg := hostConfig(t)
	files := []string{"Dockerfile"}
	_ = filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (path.Ext(p) == ".yaml" || path.Ext(p) == ".yml") {
			files = append(files, filepath.Join("deploy", p))
		}
		return err
	})
	name := regexp.MustCompile(`OCRHOST_[A-Z0-9_]*[A-Z0-9]`)
	seen := map[string]bool{}
	for _, f := range files {
		for _, n := range name.FindAllString(readFile(t, f), -1) {
			if seen[f+n] {
				continue
			}
			seen[f+n] = true
			if _, ok := cfg[n]; !ok {
				t.Errorf("%s uses %s, which cmd/host/config.go does not read (renamed? or not added yet)", f, n)
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("no OCRHOST_ variable found in the deployment files")
	}
}

// TestEnvValuesParse reads each manifest value the way envconfig would, so
// a value the host refuses at start fails here.
func TestEnvValuesParse(t *testing.T) {
	cfg := hostConfig(t)
	for what, c := range workloads(t, manifests(t)) {
		for _, e := range c.Env {
			v, ok := cfg[e.Name]
			if !ok || e.Value == nil {
				continue // unknown names: TestEnvNamesExist
			}
			s := string(*e.Value)
			var err error
			switch v.goType {
			case "int", "int64":
				_, err = strconv.ParseInt(s, 10, 64)
			case "float64":
				_, err = strconv.ParseFloat(s, 64)
			case "bool":
				_, err = strconv.ParseBool(s)
			case "time.Duration":
				_, err = time.ParseDuration(s)
			case "byteSize":
				_, err = memory.ParseBytes(s)
			case "string":
			default:
				t.Errorf("%s: %s has Go type %s, which this test cannot check", what, e.Name, v.goType)
			}
			if err != nil {
				t.Errorf("%s: %s=%q is not a valid %s: %v", what, e.Name, s, v.goType, err)
			}
		}
	}
}

func TestPortsAndProbes(t *testing.T) {
	cfg := hostConfig(t)
	routes := hostRoutes(t)
	_, port, err := net.SplitHostPort(cfg["OCRHOST_HTTP_ADDR"].def)
	if err != nil {
		t.Fatalf("default OCRHOST_HTTP_ADDR %q: %v", cfg["OCRHOST_HTTP_ADDR"].def, err)
	}
	for what, c := range workloads(t, manifests(t)) {
		if len(c.Ports) != 1 {
			t.Fatalf("%s: want one container port, have %d", what, len(c.Ports))
		}
		p := c.Ports[0]
		// Knative sets PORT to the container port; a plain Deployment
		// relies on the host's own address.
		if strconv.Itoa(p.ContainerPort) != port {
			t.Errorf("%s: containerPort %d, host listens on %s", what, p.ContainerPort, port)
		}
		if addr, ok := c.env("OCRHOST_HTTP_ADDR"); ok {
			t.Errorf("%s: OCRHOST_HTTP_ADDR=%q set; the probes and ports assume the default", what, addr)
		}
		for _, pr := range []struct {
			kind, want string
			probe      *probe
		}{{"readiness", "/readyz", c.ReadinessProbe}, {"liveness", "/healthz", c.LivenessProbe}} {
			if pr.probe == nil || pr.probe.HTTPGet == nil {
				t.Errorf("%s: no %s httpGet probe", what, pr.kind)
				continue
			}
			g := pr.probe.HTTPGet
			if !routes[g.Path] {
				t.Errorf("%s: %s probe path %s is not a route of serve.go", what, pr.kind, g.Path)
			}
			// /readyz fails while draining and without NATS; a liveness
			// probe on it would restart pods with work in flight.
			if g.Path != pr.want {
				t.Errorf("%s: %s probe on %s, want %s", what, pr.kind, g.Path, pr.want)
			}
			if g.Port != "" && string(g.Port) != p.Name && string(g.Port) != strconv.Itoa(p.ContainerPort) {
				t.Errorf("%s: %s probe port %s is not the container port", what, pr.kind, g.Port)
			}
		}
	}
}

func TestKnativeService(t *testing.T) {
	cfg := hostConfig(t)
	objs := manifests(t)
	var ks knativeService
	one(t, objs, "serving.knative.dev/v1", "Service", &ks)
	tmpl := ks.Spec.Template
	c := onlyContainer(t, "knative Service", tmpl.Spec.Containers)

	if got := tmpl.Metadata.Annotations["autoscaling.knative.dev/min-scale"]; got != "0" {
		t.Errorf("min-scale annotation %q, want \"0\" (scale to zero)", got)
	}
	mp := cfg["OCRHOST_MAX_PREDICTIONS"]
	if tmpl.Spec.ContainerConcurrency == nil {
		t.Fatal("no containerConcurrency")
	}
	cc := strconv.Itoa(*tmpl.Spec.ContainerConcurrency)
	if cc != mp.def {
		t.Errorf("containerConcurrency %s, host's default OCRHOST_MAX_PREDICTIONS %s", cc, mp.def)
	}
	if got := effective(t, cfg, c, "OCRHOST_MAX_PREDICTIONS"); got != cc {
		t.Errorf("containerConcurrency %s, but the container runs OCRHOST_MAX_PREDICTIONS=%s", cc, got)
	}

	if tmpl.Spec.TimeoutSeconds == nil {
		t.Fatal("no timeoutSeconds")
	}
	timeout := time.Duration(*tmpl.Spec.TimeoutSeconds) * time.Second
	if timeout > 600*time.Second {
		t.Errorf("timeoutSeconds %v exceeds Knative's maximum of 600", timeout)
	}
	grace := duration(t, "OCRHOST_SHUTDOWN_GRACE", effective(t, cfg, c, "OCRHOST_SHUTDOWN_GRACE"))
	if knativeDrain+grace > timeout {
		t.Errorf("queue-proxy drain %v + OCRHOST_SHUTDOWN_GRACE %v exceed timeoutSeconds %v (the termination grace period)", knativeDrain, grace, timeout)
	}
	queue := duration(t, "OCRHOST_POOL_QUEUE_TIMEOUT", effective(t, cfg, c, "OCRHOST_POOL_QUEUE_TIMEOUT"))
	if queue >= timeout {
		t.Errorf("OCRHOST_POOL_QUEUE_TIMEOUT %v ≥ timeoutSeconds %v: Knative would cut a waiting request before the host answers busy", queue, timeout)
	}

	var tr trigger
	one(t, objs, "eventing.knative.dev/v1", "Trigger", &tr)
	if d := tr.Spec.Delivery; d != nil && d.Timeout != "" {
		if dt := isoDuration(t, d.Timeout); dt > timeout {
			t.Errorf("trigger delivery timeout %v exceeds the Service's timeoutSeconds %v", dt, timeout)
		}
	}
}

// TestResources checks the memory budget the host enforces sits under the
// limit the kernel enforces, read with the host's own size parser.
func TestResources(t *testing.T) {
	cfg := hostConfig(t)
	for what, c := range workloads(t, manifests(t)) {
		limit, err := memory.ParseBytes(c.Resources.Limits["memory"])
		if err != nil {
			t.Errorf("%s: memory limit: %v", what, err)
			continue
		}
		request, err := memory.ParseBytes(c.Resources.Requests["memory"])
		if err != nil || request > limit {
			t.Errorf("%s: memory request %q must parse and not exceed the limit %q (%v)", what, c.Resources.Requests["memory"], c.Resources.Limits["memory"], err)
		}
		budgetS := effective(t, cfg, c, "OCRHOST_MEMORY_BUDGET")
		budget, err := memory.ParseBytes(budgetS)
		if err != nil {
			t.Errorf("%s: OCRHOST_MEMORY_BUDGET: %v", what, err)
			continue
		}
		// Strictly under: at the limit itself the OOM killer, not the
		// host's guard, would have the last word.
		if budget >= limit {
			t.Errorf("%s: OCRHOST_MEMORY_BUDGET %s (%d B) is not below the memory limit %s (%d B)", what, budgetS, budget, c.Resources.Limits["memory"], limit)
		}
		if _, ok := c.Resources.Limits["nvidia.com/gpu"]; ok {
			t.Errorf("%s: nvidia.com/gpu is requested, but the image runs the CPU build of ONNX Runtime; keep it commented", what)
		}
		if dev := effective(t, cfg, c, "OCRHOST_DEVICE"); dev != "cpu" {
			t.Errorf("%s: OCRHOST_DEVICE=%s without a GPU", what, dev)
		}
	}
	// The GPU settings stay documented, commented out, beside the others.
	for _, f := range []string{"knative/service.yaml", "keda/deployment.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range []string{`(?m)^\s*#\s*nvidia\.com/gpu:\s*1\s*$`, `(?m)^\s*#\s*-\s*name:\s*OCRHOST_DEVICE\s*\n\s*#\s*value:\s*"cuda:0"`} {
			if !regexp.MustCompile(re).Match(b) {
				t.Errorf("%s: no commented GPU setting matching %s", f, re)
			}
		}
	}
}

func TestTrigger(t *testing.T) {
	types := stringConsts(t, filepath.Join(root, "events", "internal", "wire"))
	request, result, failure := types["TypeRequest"], types["TypeResult"], types["TypeFailure"]
	if request == "" || result == "" || failure == "" {
		t.Fatalf("events/internal/wire: TypeRequest %q, TypeResult %q, TypeFailure %q: all must be string constants", request, result, failure)
	}
	objs := manifests(t)
	var ks knativeService
	svc := one(t, objs, "serving.knative.dev/v1", "Service", &ks)
	var br struct{}
	broker := one(t, objs, "eventing.knative.dev/v1", "Broker", &br)
	var tr trigger
	one(t, objs, "eventing.knative.dev/v1", "Trigger", &tr)

	if tr.Spec.Broker != broker.Metadata.Name {
		t.Errorf("trigger broker %q, the Broker is %q", tr.Spec.Broker, broker.Metadata.Name)
	}
	sub := tr.Spec.Subscriber.Ref
	if sub == nil || sub.APIVersion != svc.APIVersion || sub.Kind != svc.Kind || sub.Name != svc.Metadata.Name {
		t.Errorf("trigger subscriber %+v is not the Service %s", sub, svc.Metadata.Name)
	}
	// The Broker republishes the host's 200 reply: a filter that matched it
	// would feed results back in as requests.
	if len(tr.Spec.Filters) > 0 {
		t.Errorf("trigger uses spec.filters; use the exact spec.filter.attributes.type so the answer types cannot match")
	}
	if tr.Spec.Filter == nil {
		t.Fatal("trigger has no filter: it would deliver the host's own replies back to it")
	}
	typ := string(tr.Spec.Filter.Attributes["type"])
	if typ != request {
		t.Errorf("trigger filters on type %q, want events.TypeRequest %q", typ, request)
	}
	if typ == result || typ == failure {
		t.Errorf("trigger filter type %q is an answer type: the replies would loop", typ)
	}

	d := tr.Spec.Delivery
	if d == nil {
		t.Fatal("trigger has no delivery settings")
	}
	if d.Retry == nil || *d.Retry < 1 {
		t.Errorf("delivery.retry %v: busy (429) answers must be retried", d.Retry)
	}
	if d.BackoffPolicy != "linear" && d.BackoffPolicy != "exponential" {
		t.Errorf("delivery.backoffPolicy %q, want linear or exponential", d.BackoffPolicy)
	}
	if isoDuration(t, d.BackoffDelay) <= 0 {
		t.Errorf("delivery.backoffDelay %q must be positive", d.BackoffDelay)
	}
	dls := d.DeadLetterSink
	switch {
	case dls == nil || (dls.Ref == nil && dls.URI == ""):
		t.Error("delivery has no deadLetterSink: a request that keeps failing would be lost")
	case dls.Ref != nil && dls.Ref.Kind == "Broker":
		t.Error("deadLetterSink is a Broker: a dead letter keeps the request type and would be delivered again")
	case dls.Ref != nil && dls.Ref.Name == svc.Metadata.Name && dls.Ref.Kind == svc.Kind:
		t.Error("deadLetterSink is the OCR Service itself")
	}
}

func TestKEDA(t *testing.T) {
	cfg := hostConfig(t)
	objs := manifests(t)
	var dep deployment
	d := one(t, objs, "apps/v1", "Deployment", &dep)
	c := onlyContainer(t, "keda Deployment", dep.Spec.Template.Spec.Containers)
	var so scaledObject
	one(t, objs, "keda.sh/v1alpha1", "ScaledObject", &so)

	if so.Spec.ScaleTargetRef.Name != d.Metadata.Name || (so.Spec.ScaleTargetRef.Kind != "" && so.Spec.ScaleTargetRef.Kind != "Deployment") {
		t.Errorf("scaleTargetRef %+v is not the Deployment %s", so.Spec.ScaleTargetRef, d.Metadata.Name)
	}
	if so.Spec.MinReplicaCount == nil || *so.Spec.MinReplicaCount != 0 {
		t.Errorf("minReplicaCount %v, want 0", so.Spec.MinReplicaCount)
	}
	if so.Spec.MaxReplicaCount == nil || *so.Spec.MaxReplicaCount < 1 {
		t.Errorf("maxReplicaCount %v, want at least 1", so.Spec.MaxReplicaCount)
	}
	if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "nats-jetstream" {
		t.Fatalf("want one nats-jetstream trigger, have %+v", so.Spec.Triggers)
	}
	md := so.Spec.Triggers[0].Metadata

	if js, err := strconv.ParseBool(effective(t, cfg, c, "OCRHOST_JETSTREAM")); err != nil || !js {
		t.Errorf("OCRHOST_JETSTREAM must be true in the Deployment: KEDA scales on the consumer's backlog (%v)", err)
	}
	// The host must pull from the very consumer KEDA measures, and its
	// defaults must name it too so that a bare deployment agrees.
	for key, env := range map[string]string{"stream": "OCRHOST_JS_STREAM", "consumer": "OCRHOST_JS_CONSUMER"} {
		want := string(md[key])
		if want == "" {
			t.Errorf("trigger metadata has no %s", key)
			continue
		}
		if got := effective(t, cfg, c, env); got != want {
			t.Errorf("the Deployment runs %s=%q, the ScaledObject watches %s %q", env, got, key, want)
		}
		if v := cfg[env]; v.hasDefault && v.def != want {
			t.Errorf("config.go's default %s=%q differs from the ScaledObject's %s %q", env, v.def, key, want)
		}
	}
	if md["account"] == "" {
		t.Error("trigger metadata has no account ($G without NATS accounts)")
	}
	for key, min := range map[string]int{"lagThreshold": 1, "activationLagThreshold": 0} {
		if s, ok := md[key]; ok {
			if n, err := strconv.Atoi(string(s)); err != nil || n < min {
				t.Errorf("%s %q must be an integer ≥ %d", key, s, min)
			}
		}
	}
	// KEDA must watch the server the hosts use.
	mon := string(md["natsServerMonitoringEndpoint"])
	monHost, _, err := net.SplitHostPort(mon)
	if err != nil {
		t.Fatalf("natsServerMonitoringEndpoint %q: %v", mon, err)
	}
	u, err := url.Parse(effective(t, cfg, c, "OCRHOST_NATS_URL"))
	if err != nil || u.Scheme != "nats" || u.Hostname() == "" {
		t.Fatalf("OCRHOST_NATS_URL %q must be a nats:// URL of the cluster's NATS (%v)", u, err)
	}
	if u.Hostname() != monHost {
		t.Errorf("hosts use NATS at %s, KEDA watches %s", u.Hostname(), monHost)
	}

	grace := duration(t, "OCRHOST_SHUTDOWN_GRACE", effective(t, cfg, c, "OCRHOST_SHUTDOWN_GRACE"))
	quiet := duration(t, "OCRHOST_DRAIN_QUIET_PERIOD", effective(t, cfg, c, "OCRHOST_DRAIN_QUIET_PERIOD"))
	// Kubernetes' default when the field is left out.
	tg := 30 * time.Second
	if p := dep.Spec.Template.Spec.TerminationGracePeriodSeconds; p != nil {
		tg = time.Duration(*p) * time.Second
	}
	if tg <= quiet+grace {
		t.Errorf("terminationGracePeriodSeconds %v must exceed OCRHOST_DRAIN_QUIET_PERIOD %v + OCRHOST_SHUTDOWN_GRACE %v", tg, quiet, grace)
	}
}

// TestSameContainer keeps the two ways of running the host from drifting:
// the Deployment runs what the Knative Service runs, plus JetStream.
func TestSameContainer(t *testing.T) {
	w := workloads(t, manifests(t))
	kn, kd := w["knative Service"], w["keda Deployment"]
	if kn.Image != kd.Image {
		t.Errorf("images differ: %q and %q", kn.Image, kd.Image)
	}
	for _, e := range kn.Env {
		want, _ := kn.env(e.Name)
		if got, ok := kd.env(e.Name); !ok || got != want {
			t.Errorf("%s: Knative Service sets %q, the Deployment %q", e.Name, want, got)
		}
	}
	for k, v := range kn.Resources.Limits {
		if kd.Resources.Limits[k] != v {
			t.Errorf("limit %s: %q and %q", k, v, kd.Resources.Limits[k])
		}
	}
	for k, v := range kn.Resources.Requests {
		if kd.Resources.Requests[k] != v {
			t.Errorf("request %s: %q and %q", k, v, kd.Resources.Requests[k])
		}
	}
}

// --------------------------------------------------------------- Dockerfile

type instruction struct {
	cmd  string // upper case
	args string
	line int
}

type stage struct {
	image, name string
	instrs      []instruction
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// dockerfile splits the Dockerfile into stages of instructions, joining
// continuation lines and dropping comments as Docker does.
func dockerfile(t *testing.T) []stage {
	t.Helper()
	var stages []stage
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(strings.NewReader(readFile(t, "Dockerfile")))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if s, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		cur.Reset()
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			st := stage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile line %d: %s before FROM", start, in.cmd)
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile: want a build and a runtime stage, have %d stages", len(stages))
	}
	return stages
}

// copies maps each COPY --from destination of st to its source.
func copies(st stage, from string) map[string]string {
	m := map[string]string{}
	for _, in := range st.all("COPY") {
		f := strings.Fields(in.args)
		if len(f) != 3 || f[0] != "--from="+from {
			continue
		}
		m[path.Clean(f[2])] = path.Clean(f[1])
	}
	return m
}

func envs(st stage) map[string]string {
	m := map[string]string{}
	for _, in := range st.all("ENV") {
		for _, kv := range strings.Fields(in.args) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				m[k] = strings.Trim(v, `"`)
			}
		}
	}
	return m
}

func TestDockerfile(t *testing.T) {
	cfg := hostConfig(t)
	stages := dockerfile(t)
	build, run := stages[0], stages[len(stages)-1]
	if build.name == "" {
		t.Fatalf("build stage %s has no name for COPY --from", build.image)
	}

	// Go version and glibc: the builder's Go is go.mod's, and the runtime
	// is the Debian release the cgo binary was linked on.
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(readFile(t, "go.mod"))
	if goVersion == nil {
		t.Fatal("go.mod has no go directive")
	}
	if !strings.HasPrefix(build.image, "golang:"+goVersion[1]) {
		t.Errorf("build stage FROM %s, go.mod wants Go %s", build.image, goVersion[1])
	}
	codename := func(image string) string {
		tag := image[strings.LastIndex(image, ":")+1:]
		for _, part := range strings.Split(tag, "-") {
			switch part {
			case "bullseye", "bookworm", "trixie", "forky":
				return part
			}
		}
		return ""
	}
	if cb, cr := codename(build.image), codename(run.image); cb == "" || cb != cr {
		t.Errorf("build on %s (%q) and run on %s (%q): the cgo binary needs the same glibc", build.image, cb, run.image, cr)
	}

	var runs strings.Builder
	for _, in := range build.all("RUN") {
		runs.WriteString(in.args + "\n")
	}
	for _, re := range []string{`apt-get install[^\n]*\bnpm\b`, `\bmake\b[^\n;&|]*\bdeps\b`, `\bmake\b[^\n;&|]*\bbuild\b`} {
		if !regexp.MustCompile(re).MatchString(runs.String()) {
			t.Errorf("build stage has no RUN matching %s (the Makefile's checksummed steps)", re)
		}
	}
	workdir := ""
	for _, in := range build.all("WORKDIR") {
		workdir = path.Join(workdir, in.args)
	}
	if !path.IsAbs(workdir) {
		t.Fatalf("build stage WORKDIR %q must be absolute", workdir)
	}

	// Where the Makefile and scripts/deps.sh put what the image needs.
	mk := readFile(t, "Makefile")
	bin := regexp.MustCompile(`(?m)^BIN := (\S+)$`).FindStringSubmatch(mk)
	deps := regexp.MustCompile(`(?m)^DEPS_DIR \?= \$\(CURDIR\)/(\S+)$`).FindStringSubmatch(mk)
	lib := regexp.MustCompile(`\|(lib/libonnxruntime[^|]*)\|`).FindStringSubmatch(readFile(t, "scripts/deps.sh"))
	if bin == nil || deps == nil || lib == nil {
		t.Fatalf("Makefile BIN %v, DEPS_DIR %v or deps.sh's library row %v not found", bin, deps, lib)
	}
	cp := copies(run, build.name)
	dst := func(src string) string {
		for d, s := range cp {
			if s == path.Join(workdir, src) {
				return d
			}
		}
		t.Errorf("runtime stage does not COPY --from=%s %s", build.name, path.Join(workdir, src))
		return ""
	}
	binDst, libDst, modelsDst := dst(bin[1]), dst(path.Join(deps[1], lib[1])), dst(path.Join(deps[1], "models"))

	env := envs(run)
	if env["OCRHOST_ORT_LIB"] != libDst || env["OCRHOST_MODEL_DIR"] != modelsDst {
		t.Errorf("ENV OCRHOST_ORT_LIB=%q OCRHOST_MODEL_DIR=%q, the files are copied to %q and %q",
			env["OCRHOST_ORT_LIB"], env["OCRHOST_MODEL_DIR"], libDst, modelsDst)
	}
	// The binary's own fallback (locateAssets in cmd/host) must find the same
	// files when the variables are unset.
	if m := regexp.MustCompile(`found = "(/[^"]+)"`).FindStringSubmatch(readFile(t, "cmd/host/assets.go")); m == nil {
		t.Error("cmd/host/assets.go: no absolute fallback folder found")
	} else if path.Join(m[1], lib[1]) != libDst || path.Join(m[1], "models") != modelsDst {
		t.Errorf("the binary falls back to %s, the image installs %s and %s", m[1], libDst, modelsDst)
	}
	for k := range env {
		if _, ok := cfg[k]; strings.HasPrefix(k, "OCRHOST_") && !ok {
			t.Errorf("ENV %s is not read by the host", k)
		}
	}

	users := run.all("USER")
	if len(users) == 0 {
		t.Fatal("runtime stage has no USER: it would run as root")
	}
	user, _, _ := strings.Cut(users[len(users)-1].args, ":")
	uid, err := strconv.Atoi(user)
	if err != nil || uid == 0 {
		t.Fatalf("USER %q: want a numeric non-root uid (runAsNonRoot can only verify a number)", users[len(users)-1].args)
	}
	for what, c := range workloads(t, manifests(t)) {
		if sc := c.SecurityContext; sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != int64(uid) || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("%s: securityContext must set runAsNonRoot and runAsUser %d (the image's USER)", what, uid)
		}
	}

	_, port, _ := net.SplitHostPort(cfg["OCRHOST_HTTP_ADDR"].def)
	if ex := run.all("EXPOSE"); len(ex) != 1 || ex[0].args != port {
		t.Errorf("EXPOSE %v, want only the host's HTTP port %s", ex, port)
	}

	hc := run.all("HEALTHCHECK")
	routes := hostRoutes(t)
	if len(hc) != 1 || strings.Contains(hc[0].args, "NONE") {
		t.Error("runtime stage needs one HEALTHCHECK")
	} else if m := regexp.MustCompile(`http://[^/\s"]+(/[A-Za-z0-9_/]*)`).FindStringSubmatch(hc[0].args); m == nil || !routes[m[1]] {
		t.Errorf("HEALTHCHECK %q does not GET a route the host serves", hc[0].args)
	}

	entry := execForm(t, run, "ENTRYPOINT")
	if len(entry) != 1 || entry[0] != binDst {
		t.Errorf("ENTRYPOINT %q, want [%q] (where the binary is copied)", entry, binDst)
	}
	cmd := execForm(t, run, "CMD")
	if len(cmd) == 0 || !subcommands(t)[cmd[0]] {
		t.Errorf("CMD %q is not a subcommand of cmd/host", cmd)
	}
}

// execForm parses the last cmd instruction's JSON array: the shell form
// would make /bin/sh PID 1, and it does not pass SIGTERM on for draining.
func execForm(t *testing.T, st stage, cmd string) []string {
	t.Helper()
	ins := st.all(cmd)
	if len(ins) == 0 {
		t.Errorf("runtime stage has no %s", cmd)
		return nil
	}
	var args []string
	if err := json.Unmarshal([]byte(ins[len(ins)-1].args), &args); err != nil {
		t.Errorf("%s %s is not the exec (JSON array) form: %v", cmd, ins[len(ins)-1].args, err)
	}
	return args
}

func TestDockerignore(t *testing.T) {
	var patterns []string
	for _, l := range strings.Split(readFile(t, ".dockerignore"), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, path.Clean(strings.TrimPrefix(l, "/")))
		}
	}
	ignored := func(p string) bool {
		for _, pat := range patterns {
			if ok, _ := path.Match(pat, p); ok {
				return true
			}
		}
		return false
	}
	// The build fetches and builds these itself; copies would be stale.
	for _, p := range []string{".git", "bin", "out", "third_party"} {
		if !ignored(p) {
			t.Errorf(".dockerignore does not exclude %s", p)
		}
	}
	for _, p := range []string{"go.mod", "go.sum", "Makefile", "scripts", "cmd", "events", "function", "host", "memory", "warmpool", "internal"} {
		if ignored(p) {
			t.Errorf(".dockerignore excludes %s, which the build needs", p)
		}
	}
}

// isoDuration reads the ISO-8601 durations Knative delivery settings use
// (PT1S, PT5M, P1DT2H, PT0.5S).
func isoDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	m := regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`).FindStringSubmatch(s)
	if m == nil || s == "P" || s == "PT" || strings.HasSuffix(s, "T") {
		t.Fatalf("%q is not an ISO-8601 duration such as PT1S", s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute} {
		if m[i+1] != "" {
			n, _ := strconv.Atoi(m[i+1])
			d += time.Duration(n) * unit
		}
	}
	if m[4] != "" {
		sec, _ := strconv.ParseFloat(m[4], 64)
		d += time.Duration(sec * float64(time.Second))
	}
	return d
}
