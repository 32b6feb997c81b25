package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/auth"
	"github.com/ocrhost/ocrhost/events"
	"github.com/ocrhost/ocrhost/events/jobs"
	"github.com/ocrhost/ocrhost/internal/natsd/natsdtest"
	"github.com/ocrhost/ocrhost/internal/testenv"
)

// Secrets of the door tests; none may appear in a host's output.
const (
	aliceToken    = "alice-Tq9wLx2Vb7Zr4Kp1"
	bobToken      = "bob-Jn5cYe8Hs3Mu6Wd0"
	opsToken      = "ops-Fg2kRt7Nq4Xv9Lb5"
	natsDoorToken = "nats-Ue6pZa1Dk8Cw3Ym7" // the host's own NATS password
	aliceNATS     = "alice-nats-Rb3Qm8Wx1Kc6"
	bobNATS       = "bob-nats-Gd7Lp2Zs9Hv4"
	storeKeyText  = "store-Vh4mQs9Jx2Bn7Rt5Lc8Pk3Wz6Ga1Ye0"
	// doorWord is recognised in the sample document: it is grepped for in
	// the JetStream store.
	doorWord = "quick brown"
)

// TestEveryDoor runs a served host for each combination of NATS and HTTP
// authentication, and knocks at every HTTP route and NATS subject without a
// credential, with a wrong one, with another principal's and with the
// right one; no answer (/metrics and /debug/ included) may hold a secret. A job queued for alice is OCRed once per host; its task must
// answer alice and admins only. With NATS authentication on, the embedded
// server's store is encrypted, and the recognised text must not be found
// in its files; with it off, the same grep must find it (the grep works).
// No secret may appear in any host's output.
func TestEveryDoor(t *testing.T) {
	testenv.Models(t)
	dir := t.TempDir()
	tokens := filepath.Join(dir, "http-tokens")
	writeFile(t, tokens, "# name token [admin]\nalice "+aliceToken+"\nbob "+bobToken+"\nops "+opsToken+" admin\n")
	natsPasswordFile := filepath.Join(dir, "nats-password")
	writeFile(t, natsPasswordFile, natsDoorToken+"\n")
	natsUsers := filepath.Join(dir, "nats-users")
	writeFile(t, natsUsers, "# name password [admin]\nalice "+aliceNATS+"\nbob "+bobNATS+"\n")
	keyFile := filepath.Join(dir, "store-key")
	writeFile(t, keyFile, storeKeyText+"\n")
	doc := sampleDoc(t)

	var outputs []string
	for _, natsAuth := range []bool{false, true} {
		for _, httpAuth := range []bool{false, true} {
			name := fmt.Sprintf("nats_auth=%v/http_auth=%v", natsAuth, httpAuth)
			t.Run(name, func(t *testing.T) {
				store := t.TempDir()
				natsPort := freePort(t)
				env := map[string]string{"OCRHOST_EMBEDDED_NATS_PORT": fmt.Sprint(natsPort), "OCRHOST_NATS_STORE_DIR": store,
					"OCRHOST_LOG_LEVEL": "debug"}
				var adminURL string
				if natsAuth {
					env["OCRHOST_NATS_USER"] = "ocrhost"
					env["OCRHOST_NATS_PASSWORD_FILE"] = natsPasswordFile
					env["OCRHOST_NATS_USERS_FILE"] = natsUsers
					env["OCRHOST_JS_ENCRYPTION_KEY_FILE"] = keyFile
				}
				if httpAuth {
					env["OCRHOST_HTTP_TOKENS_FILE"] = tokens
					adminPort := freePort(t)
					env["OCRHOST_ADMIN_ADDR"] = fmt.Sprintf("127.0.0.1:%d", adminPort)
					adminURL = fmt.Sprintf("http://127.0.0.1:%d", adminPort)
				}
				p := spawnServe(t, env)
				d := &doors{t: t, p: p, natsURL: fmt.Sprintf("nats://127.0.0.1:%d", natsPort), natsAuth: natsAuth,
					httpAuth: httpAuth, adminURL: adminURL, doc: doc}
				d.knockNATS()
				if natsAuth {
					d.knockAsTenants()
				}
				d.knockHTTP()

				if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
				if err := p.wait(t, time.Minute); err != nil {
					t.Fatalf("exit: %v\n%s", err, p.logs)
				}
				out := p.logs.String()
				outputs = append(outputs, out)
				for door, open := range map[string]bool{"HTTP IS OPEN": !httpAuth, "NATS IS OPEN": !natsAuth} {
					if n := strings.Count(out, door); (n == 1) != open || n > 1 {
						t.Errorf("%q logged %d times, want %d", door, n, map[bool]int{true: 1}[open])
					}
				}
				found := grepDir(t, store, doorWord)
				switch {
				case natsAuth && found != "":
					t.Errorf("the encrypted store holds the recognised text in plain: %s", found)
				case !natsAuth && found == "":
					t.Errorf("the unencrypted store does not hold %q: the grep cannot be trusted", doorWord)
				}
			})
		}
	}
	for _, out := range outputs {
		for _, secret := range []string{aliceToken, bobToken, opsToken, natsDoorToken, aliceNATS, bobNATS, storeKeyText} {
			if strings.Contains(out, secret) {
				t.Errorf("a host's output reveals a secret:\n%s", out)
			}
		}
	}
}

// doors knocks at one served host.
type doors struct {
	t                  *testing.T
	p                  *spawned
	natsURL, adminURL  string
	natsAuth, httpAuth bool
	doc                []byte
	taskID             string // alice's job, OCRed
	tenantTaskID       string // the job alice queued herself as a NATS tenant
}

// connect connects to the host's NATS as user with password ("": none).
func (d *doors) connect(user, password string, opts ...nats.Option) (*nats.Conn, error) {
	opts = append(opts, nats.Name("door-test"), nats.MaxReconnects(0))
	if password != "" {
		opts = append(opts, nats.UserInfo(user, password))
	}
	return nats.Connect(d.natsURL, opts...)
}

// knockNATS: without the host's NATS password, with a wrong one, with a
// principal's HTTP token (another principal's credential), a connection is
// refused when NATS authentication is on; with the right one (or any, when
// it is off) every subject answers. A query acting for another principal
// finds nothing.
func (d *doors) knockNATS() {
	t := d.t
	right := ""
	if d.natsAuth {
		right = natsDoorToken
	}
	for _, c := range []struct{ name, user, password string }{{"none", "", ""}, {"wrong", "ocrhost", "nats-wrong-0000000000"},
		{"another principal's", "alice", aliceToken}} {
		nc, err := d.connect(c.user, c.password)
		if !d.natsAuth {
			if err != nil {
				t.Errorf("NATS open, %s credential refused: %v", c.name, err)
			} else {
				nc.Close()
			}
			continue
		}
		if !errors.Is(err, nats.ErrAuthorization) {
			if nc != nil {
				nc.Close()
			}
			t.Errorf("NATS with %s credential: %v, want %v", c.name, err, nats.ErrAuthorization)
		}
	}

	nc, err := d.connect("ocrhost", right)
	if err != nil {
		t.Fatalf("NATS with the right credential: %v", err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}

	// ocr.jobs.>: alice's job, OCRed; ocr.tasks.get follows it.
	d.taskID, err = events.NewClient(js.Conn(), events.WithJetStream(js, jobs.WithOwner("alice"))).Submit(ctx, "ocr.jobs.secret", events.Document{Data: d.doc, ContentType: "image/tiff"})
	if err != nil {
		t.Fatalf("ocr.jobs.secret: %v", err)
	}
	var task jobs.Task
	for task.State != jobs.TaskCompleted {
		if ctx.Err() != nil {
			t.Fatalf("task %s: %+v, not completed", d.taskID, task)
		}
		time.Sleep(100 * time.Millisecond)
		if task, err = jobs.QueryTask(ctx, nc, jobs.DefaultTaskQuerySubject, d.taskID); err != nil {
			t.Fatalf("ocr.tasks.get: %v", err)
		}
	}
	if task.Owner != "alice" || !bytes.Contains(task.Result, []byte(doorWord)) {
		t.Errorf("task %s: owner %q, result %.200s", d.taskID, task.Owner, task.Result)
	}

	// ocr.tasks.get and ocr.tasks.cancel acting for bob find nothing.
	for _, subject := range []string{jobs.DefaultTaskQuerySubject, jobs.DefaultCancelSubject} {
		m := nats.NewMsg(subject)
		m.Header.Set(jobs.HeaderOwner, "bob")
		m.Data = []byte(d.taskID)
		if subject == jobs.DefaultCancelSubject {
			m = cancelMsg(t, d.taskID)
			m.Header.Set(jobs.HeaderOwner, "bob")
		}
		rep, err := nc.RequestMsgWithContext(ctx, m)
		if err != nil || rep.Header.Get("Nats-Service-Error-Code") != "404" || len(rep.Data) > 0 {
			t.Errorf("%s for another principal: %v %v %s", subject, err, rep.Header, rep.Data)
		}
	}
	// ocr.tasks.cancel as the host's side: the task is finished.
	if _, err := jobs.CancelTask(ctx, nc, jobs.DefaultCancelSubject, d.taskID); !errors.Is(err, jobs.ErrTaskFinished) {
		t.Errorf("ocr.tasks.cancel: %v, want %v", err, jobs.ErrTaskFinished)
	}
	// ocr.requests: a malformed event is answered, so the door is open.
	if rep, err := nc.RequestWithContext(ctx, events.DefaultRequestSubject, []byte("{not json")); err != nil ||
		!bytes.Contains(rep.Data, []byte("invalid_input")) {
		t.Errorf("ocr.requests: %v", err)
	}
	// ocrhost.memory
	if rep, err := nc.RequestWithContext(ctx, "ocrhost.memory", nil); err != nil || !bytes.Contains(rep.Data, []byte(`"memory"`)) {
		t.Errorf("ocrhost.memory: %v", err)
	}
}

// knockAsTenants: NATS tenants (OCRHOST_NATS_USERS_FILE) queue, follow
// and cancel their own jobs on subjects that name them, which the server
// lets them alone publish; a job keeps its task in its owner's namespace
// even when another tenant reuses its id; and the server refuses a tenant
// every other subject: another's, the results, the buckets, the memory
// subject.
func (d *doors) knockAsTenants() {
	t := d.t
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	violations := make(chan error, 64)
	tenant := func(name, password string) *nats.Conn {
		nc, err := d.connect(name, password, nats.CustomInboxPrefix("_INBOX."+name),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
				select {
				case violations <- err:
				default:
				}
			}))
		if err != nil {
			t.Fatalf("NATS as tenant %s: %v", name, err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	alice, bob := tenant("alice", aliceNATS), tenant("bob", bobNATS)
	follow := func(nc *nats.Conn, owner, id string, done jobs.TaskState) jobs.Task {
		t.Helper()
		for {
			task, err := jobs.QueryTask(ctx, nc, jobs.DefaultTaskQuerySubject+"."+owner, id)
			switch {
			case err == nil && task.State == done:
				return task
			case err != nil && !errors.Is(err, jobs.ErrTaskNotFound): // not found: not started yet
				t.Fatalf("%s follows %s: %v", owner, id, err)
			case ctx.Err() != nil:
				t.Fatalf("%s's task %s: %+v, not %s", owner, id, task, done)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	js, err := jetstream.New(alice)
	if err != nil {
		t.Fatal(err)
	}
	id, err := events.NewClient(js.Conn(), events.WithJetStream(js, jobs.AsTenant())).Submit(ctx, "ocr.jobs.alice.payslips", events.Document{Data: d.doc, ContentType: "image/tiff"})
	if err != nil {
		t.Fatalf("alice queues a job: %v", err)
	}
	d.tenantTaskID = id
	if task := follow(alice, "alice", id, jobs.TaskCompleted); task.Owner != "alice" || !bytes.Contains(task.Result, []byte(doorWord)) {
		t.Errorf("alice's task: owner %q, result %.200s", task.Owner, task.Result)
	}
	if _, err := jobs.QueryTask(ctx, bob, jobs.DefaultTaskQuerySubject+".bob", id); !errors.Is(err, jobs.ErrTaskNotFound) {
		t.Errorf("bob asks for alice's task: %v, want %v", err, jobs.ErrTaskNotFound)
	}
	if _, err := jobs.CancelTask(ctx, bob, jobs.DefaultCancelSubject+".bob", id); !errors.Is(err, jobs.ErrTaskNotFound) {
		t.Errorf("bob cancels alice's task: %v, want %v", err, jobs.ErrTaskNotFound)
	}

	// bob queues a job under alice's id (a bad document, answered fast):
	// it is his own task, and alice's is as it was.
	bobJS, err := jetstream.New(bob)
	if err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg("ocr.jobs.bob.scan")
	for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": id, "ce-type": events.TypeRequest,
		"ce-source": "/bob", "content-type": "image/png", jobs.HeaderOwner: "alice"} {
		m.Header.Set(k, v)
	}
	m.Data = []byte("not a png")
	if _, err := bobJS.PublishMsg(ctx, m); err != nil {
		t.Fatalf("bob queues a job: %v", err)
	}
	if task := follow(bob, "bob", id, jobs.TaskFailed); task.Owner != "bob" {
		t.Errorf("bob's task under alice's id: %+v", task)
	}
	if task := follow(alice, "alice", id, jobs.TaskCompleted); task.Attempts != 1 || !bytes.Contains(task.Result, []byte(doorWord)) {
		t.Errorf("alice's task after bob reused its id: %+v", task)
	}

	// Everything else is refused to bob by the server.
	for _, subject := range []string{jobs.DefaultTaskQuerySubject + ".alice", jobs.DefaultTaskQuerySubject,
		jobs.DefaultCancelSubject, "ocr.jobs.alice.scan", "ocr.jobs.secret", "ocrhost.memory", "$JS.API.STREAM.LIST",
		jobs.TaskCancelledSubject} {
		if err := bob.Publish(subject, []byte(id)); err != nil {
			t.Fatal(err)
		}
		d.wantViolation(bob, violations, "Publish to \""+subject+"\"")
	}
	for _, subject := range []string{events.DefaultResultSubject, "$KV.>", "_INBOX.alice.>", ">"} {
		if _, err := bob.SubscribeSync(subject); err != nil {
			t.Fatal(err)
		}
		d.wantViolation(bob, violations, "Subscription to \""+subject+"\"")
	}
}

// wantViolation waits for the server's permissions violation naming what.
func (d *doors) wantViolation(nc *nats.Conn, violations <-chan error, what string) {
	d.t.Helper()
	_ = nc.Flush()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case err := <-violations:
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), what) {
				return
			}
		case <-deadline:
			d.t.Errorf("no permissions violation for %s", what)
			return
		}
	}
}

// cancelMsg is a cancel event for id, as jobs.CancelTask sends it.
func cancelMsg(t *testing.T, id string) *nats.Msg {
	t.Helper()
	m := nats.NewMsg(jobs.DefaultCancelSubject)
	for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": "cancel-" + id, "ce-type": jobs.TypeCancel,
		"ce-source": "/test", "content-type": "application/json"} {
		m.Header.Set(k, v)
	}
	m.Data = []byte(`{"id":"` + id + `"}`)
	return m
}

// knockHTTP tries every route with each credential.
func (d *doors) knockHTTP() {
	t := d.t
	adminBase := d.p.httpURL
	if d.adminURL != "" {
		adminBase = d.adminURL
	}
	// Statuses when HTTP authentication is on; off, every request is let
	// through as it was before authentication existed.
	const through = 0
	type door struct {
		method, url string
		body        []byte
		headers     map[string]string
		// per credential: none, wrong, bob (another principal), alice
		// (the right one for OCR and tasks), ops (admin).
		want [5]int
		// content a 200 must hold
		holds string
	}
	event := map[string]string{"ce-specversion": "1.0", "ce-id": "h-door", "ce-type": events.TypeRequest,
		"ce-source": "/test", "content-type": "image/tiff"}
	bad := map[string]string{"content-type": "text/plain"}
	u, f := http.StatusUnauthorized, http.StatusForbidden
	routes := []door{
		// A malformed event reaches the handler: 400 means let in.
		{"POST", d.p.httpURL + "/", []byte("not an event"), bad, [5]int{u, u, 400, 400, 400}, ""},
		{"GET", d.p.httpURL + "/tasks/" + d.taskID, nil, nil, [5]int{u, u, 404, 200, 200}, doorWord},
		{"GET", d.p.httpURL + "/tasks/unknown-id", nil, nil, [5]int{u, u, 404, 404, 404}, ""},
		{"GET", adminBase + "/metrics", nil, nil, [5]int{u, u, f, f, 200}, "ocrhost_invocations_total"},
		{"GET", adminBase + "/debug/memory", nil, nil, [5]int{u, u, f, f, 200}, `"memory"`},
		{"GET", d.p.httpURL + "/healthz", nil, nil, [5]int{through, through, through, through, through}, "ok"},
		{"GET", d.p.httpURL + "/readyz", nil, nil, [5]int{through, through, through, through, through}, "ready"},
	}
	creds := []string{"", "wrong-Zz0000000000000", bobToken, aliceToken, opsToken}
	names := []string{"none", "wrong", "another principal's", "right", "admin"}
	for _, r := range routes {
		for i, token := range creds {
			want := r.want[i]
			if !d.httpAuth || want == through {
				want = r.want[4] // as the admin: everyone is, on an open door
				if want == through {
					want = 200
				}
			}
			status, body, hdr := d.do(r.method, r.url, token, r.body, r.headers)
			if status != want {
				t.Errorf("%s %s with %s credential: %d, want %d (%.200s)", r.method, r.url, names[i], status, want, body)
				continue
			}
			if status == u && hdr.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s with %s credential: 401 without WWW-Authenticate", r.method, r.url, names[i])
			}
			if status == 200 && !bytes.Contains(body, []byte(r.holds)) {
				t.Errorf("%s %s with %s credential: body lacks %q: %.200s", r.method, r.url, names[i], r.holds, body)
			}
			for _, secret := range []string{aliceToken, bobToken, opsToken, natsDoorToken, storeKeyText} {
				if bytes.Contains(body, []byte(secret)) || strings.Contains(fmt.Sprint(hdr), secret) {
					t.Errorf("%s %s reveals a secret", r.method, r.url)
				}
			}
		}
	}
	// Another principal's task reads exactly as an unknown one, bar the id.
	_, other, _ := d.do("GET", d.p.httpURL+"/tasks/"+d.taskID, bobToken, nil, nil)
	_, unknown, _ := d.do("GET", d.p.httpURL+"/tasks/unknown-id", bobToken, nil, nil)
	if d.httpAuth && string(bytes.ReplaceAll(other, []byte(d.taskID), []byte("unknown-id"))) != string(unknown) {
		t.Errorf("another's task %q differs from an unknown one %q", other, unknown)
	}
	// The job alice queued as a NATS tenant is hers over HTTP too; bob, who
	// reused its id, finds his own; an admin names the owner.
	if d.tenantTaskID != "" && d.httpAuth {
		for _, c := range []struct{ who, token, query, owner string }{
			{"alice", aliceToken, "", "alice"}, {"bob", bobToken, "?owner=alice", "bob"}, {"an admin", opsToken, "?owner=alice", "alice"}} {
			status, body, _ := d.do("GET", d.p.httpURL+"/tasks/"+d.tenantTaskID+c.query, c.token, nil, nil)
			var task jobs.Task
			if err := json.Unmarshal(body, &task); status != 200 || err != nil || task.Owner != c.owner ||
				bytes.Contains(body, []byte(doorWord)) != (c.owner == "alice") {
				t.Errorf("%s reads the tenant's task id: %d %.200s", c.who, status, body)
			}
		}
		if status, body, _ := d.do("GET", d.p.httpURL+"/tasks/"+d.tenantTaskID, opsToken, nil, nil); status != http.StatusConflict {
			t.Errorf("an admin reads an id two owners used, naming none: %d %.200s, want 409", status, body)
		}
	}
	// With an admin listener the main port serves no operational route.
	if d.adminURL != "" {
		for _, path := range []string{"/metrics", "/debug/memory"} {
			if status, _, _ := d.do("GET", d.p.httpURL+path, opsToken, nil, nil); status != http.StatusNotFound {
				t.Errorf("main port %s with OCRHOST_ADMIN_ADDR set: %d, want 404", path, status)
			}
		}
	}
	// The right credential runs OCR over HTTP.
	status, body, _ := d.do("POST", d.p.httpURL+"/", aliceToken, d.doc, event)
	if status != 200 || !bytes.Contains(body, []byte(doorWord)) {
		t.Errorf("POST / with the right credential: %d %.200s", status, body)
	}
}

func (d *doors) do(method, url, token string, body []byte, headers map[string]string) (int, []byte, http.Header) {
	d.t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// grepDir returns the first file under dir holding text, or "".
func grepDir(t *testing.T, dir, text string) string {
	t.Helper()
	found := ""
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || found != "" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(text)) {
			found = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestHTTPClientCertificates serves with the TLS configuration serve
// builds: a client certificate of the configured CA names its principal
// (with the role the token file gives that name), a request without one
// needs a token, and a certificate of another CA is refused.
func TestHTTPClientCertificates(t *testing.T) {
	pki := natsdtest.NewPKI(t, "ocrhost-http-ca")
	stranger := natsdtest.NewPKI(t, "stranger-ca")
	tokens := filepath.Join(t.TempDir(), "tokens")
	writeFile(t, tokens, "client "+opsToken+" admin\n")
	cfg := config{HTTPTokensFile: tokens, HTTPTLSCert: pki.ServerCert, HTTPTLSKey: pki.ServerKey, HTTPClientCA: pki.CA}
	if errs := cfg.validateHTTPAuth(); len(errs) > 0 {
		t.Fatal(errs)
	}
	httpAuth, tc, err := cfg.httpSecurity(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(httpAuth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		fmt.Fprintf(w, "%s admin=%v", p.Name, p.Admin)
	}), true))
	srv.TLS = tc
	srv.StartTLS()
	defer srv.Close()

	client := func(p natsdtest.PKI, withCert bool) *http.Client {
		roots := x509.NewCertPool()
		caPEM, _ := os.ReadFile(pki.CA)
		roots.AppendCertsFromPEM(caPEM)
		c := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		if withCert {
			cert, err := tls.LoadX509KeyPair(p.ClientCert, p.ClientKey)
			if err != nil {
				t.Fatal(err)
			}
			// Presented whatever CAs the server names: Go's client
			// would otherwise send none for a foreign CA's certificate.
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: c}}
	}
	resp, err := client(pki, true).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "client admin=true" {
		t.Errorf("with a client certificate: %d %q", resp.StatusCode, body)
	}
	if resp, err := client(pki, false).Get(srv.URL); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a certificate: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if resp, err := client(stranger, true).Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Errorf("a certificate of another CA: %d, want a refused handshake", resp.StatusCode)
	}
}

// TestSecretsFromFiles reads each secret from its *_FILE variant and
// checks that no configuration error quotes one.
func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	tokenFile, short := filepath.Join(dir, "token"), filepath.Join(dir, "short-key")
	writeFile(t, tokenFile, natsDoorToken+"\n")
	writeFile(t, short, "tooShort-"+natsDoorToken[:8]+"\n")

	t.Setenv("OCRHOST_NATS_TOKEN_FILE", tokenFile)
	c, err := loadConfig()
	if err != nil || c.Token != natsDoorToken {
		t.Fatalf("token from file: %v", err)
	}
	t.Setenv("OCRHOST_NATS_PASSWORD_FILE", tokenFile)
	t.Setenv("OCRHOST_NATS_USER", "ocr")
	if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), "OCRHOST_NATS_USER and OCRHOST_NATS_TOKEN") {
		t.Errorf("password and token files: %v, want the two methods named", err)
	}
	t.Setenv("OCRHOST_NATS_PASSWORD_FILE", "")
	t.Setenv("OCRHOST_NATS_USER", "")
	t.Setenv("OCRHOST_NATS_TOKEN", natsDoorToken)
	if _, err := loadConfig(); !errors.Is(err, ErrNATSSecurity) || !strings.Contains(err.Error(), "OCRHOST_NATS_TOKEN_FILE, not both") {
		t.Errorf("token and token file: %v", err)
	} else if strings.Contains(err.Error(), natsDoorToken) {
		t.Errorf("error reveals the token: %v", err)
	}
	t.Setenv("OCRHOST_NATS_TOKEN", "")
	t.Setenv("OCRHOST_JS_ENCRYPTION_KEY_FILE", short)
	c, err = loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.storeKey(); err == nil || strings.Contains(err.Error(), natsDoorToken[:8]) {
		t.Errorf("short store key: %v", err)
	}
	for k, v := range map[string]string{"OCRHOST_NATS_URL": "nats://127.0.0.1:1", "OCRHOST_HTTP_CLIENT_CA": short,
		"OCRHOST_HTTP_TLS_CERT": short, "OCRHOST_HTTP_TOKENS_FILE": filepath.Join(dir, "absent")} {
		t.Run(k, func(t *testing.T) {
			t.Setenv(k, v)
			if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), "OCRHOST_") {
				t.Errorf("%s=%s: %v, want an error", k, v, err)
			}
		})
	}
}
