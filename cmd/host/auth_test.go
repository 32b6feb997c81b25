package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/ocrhost/ocrhost/internal/natsd"
	"github.com/ocrhost/ocrhost/internal/natsd/natsdtest"
	"github.com/ocrhost/ocrhost/internal/testenv"
)

// Secrets the tests use; none may appear in a log or an error message.
const (
	testPassword = "pw-Zq81vXk3"
	testToken    = "tok-Hh27mPcw"
)

// writeSeed writes a fresh user nkey seed to a file and returns its path
// and the seed text.
func writeSeed(t *testing.T) (path, seed string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	s, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(path, s, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, string(s)
}

// connectWith connects to url with a's client options.
func connectWith(t *testing.T, url string, a NATSAuth) error {
	t.Helper()
	opts, err := natsOptions(a)
	if err != nil {
		t.Fatalf("options: %v", err)
	}
	nc, err := nats.Connect(url, opts...)
	if err == nil {
		nc.Close()
	}
	return err
}

func TestEmbeddedServerAdmitsOnlyItsCredential(t *testing.T) {
	seedFile, _ := writeSeed(t)
	otherSeed, _ := writeSeed(t)
	for _, tc := range []struct {
		name         string
		right, wrong NATSAuth
	}{
		{"user and password", NATSAuth{User: "ocr", Password: testPassword}, NATSAuth{User: "ocr", Password: testPassword + "x"}},
		{"token", NATSAuth{Token: testToken}, NATSAuth{Token: testToken + "x"}},
		{"nkey seed", NATSAuth{NKeySeedFile: seedFile}, NATSAuth{NKeySeedFile: otherSeed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if errs := tc.right.validate(natsEmbedded); len(errs) > 0 {
				t.Fatal(errs)
			}
			opts, err := embeddedServerOptions(tc.right)
			if err != nil {
				t.Fatal(err)
			}
			s, err := natsd.Start(opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Shutdown()
			if err := connectWith(t, s.ClientURL(), tc.right); err != nil {
				t.Errorf("right credential refused: %v", err)
			}
			for name, a := range map[string]NATSAuth{"wrong": tc.wrong, "missing": {}} {
				if err := connectWith(t, s.ClientURL(), a); !errors.Is(err, nats.ErrAuthorization) {
					t.Errorf("%s credential: %v, want %v", name, err, nats.ErrAuthorization)
				}
			}
		})
	}
}

// TestCredsFileAgainstOperatorServer checks the JWT path against a server
// in operator mode, which the embedded server is not.
func TestCredsFileAgainstOperatorServer(t *testing.T) {
	op, _ := nkeys.CreateOperator()
	opPub, _ := op.PublicKey()
	opJWT, err := jwt.NewOperatorClaims(opPub).Encode(op)
	if err != nil {
		t.Fatal(err)
	}
	opClaims, err := jwt.DecodeOperatorClaims(opJWT)
	if err != nil {
		t.Fatal(err)
	}
	resolver := &server.MemAccResolver{}
	// creds returns a creds file for a user of a new account, which the
	// server knows when known is set.
	creds := func(known bool) string {
		acc, _ := nkeys.CreateAccount()
		accPub, _ := acc.PublicKey()
		accJWT, err := jwt.NewAccountClaims(accPub).Encode(op)
		if err != nil {
			t.Fatal(err)
		}
		if known {
			resolver.Store(accPub, accJWT)
		}
		user, _ := nkeys.CreateUser()
		userPub, _ := user.PublicKey()
		userJWT, err := jwt.NewUserClaims(userPub).Encode(acc)
		if err != nil {
			t.Fatal(err)
		}
		seed, _ := user.Seed()
		text, err := jwt.FormatUserConfig(userJWT, seed)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "user.creds")
		if err := os.WriteFile(path, text, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	right, stranger := creds(true), creds(false)
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		TrustedOperators: []*jwt.OperatorClaims{opClaims}, AccountResolver: resolver})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Shutdown()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("operator server not ready")
	}
	if errs := (NATSAuth{CredsFile: right}).validate(natsExternal); len(errs) > 0 {
		t.Fatal(errs)
	}
	if err := connectWith(t, s.ClientURL(), NATSAuth{CredsFile: right}); err != nil {
		t.Errorf("valid creds refused: %v", err)
	}
	for name, a := range map[string]NATSAuth{"unknown account": {CredsFile: stranger}, "missing": {}} {
		if err := connectWith(t, s.ClientURL(), a); !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("%s: %v, want %v", name, err, nats.ErrAuthorization)
		}
	}
}

func TestNATSTLS(t *testing.T) {
	pki := natsdtest.NewPKI(t, "ocrhost-test-ca")
	stranger := natsdtest.NewPKI(t, "stranger-ca")
	full := NATSAuth{User: "ocr", Password: testPassword, TLSCA: pki.CA, TLSCert: pki.ClientCert, TLSKey: pki.ClientKey,
		EmbeddedTLSCert: pki.ServerCert, EmbeddedTLSKey: pki.ServerKey, EmbeddedTLSVerify: true}
	if errs := full.validate(natsEmbedded); len(errs) > 0 {
		t.Fatal(errs)
	}
	opts, err := embeddedServerOptions(full)
	if err != nil {
		t.Fatal(err)
	}
	s, err := natsd.Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()

	t.Run("the host pins its embedded server", func(t *testing.T) {
		opts, err := embeddedClientOptions(full)
		if err != nil {
			t.Fatal(err)
		}
		nc, err := nats.Connect(s.ClientURL(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		if !nc.TLSRequired() {
			t.Error("not over TLS")
		}
	})
	t.Run("a client verifying against the CA", func(t *testing.T) {
		a := full
		a.EmbeddedTLSCert, a.EmbeddedTLSKey, a.EmbeddedTLSVerify = "", "", false
		if err := connectWith(t, s.ClientURL(), a); err != nil {
			t.Error(err)
		}
	})
	t.Run("invoke beside serve, sharing its variables but no CA", func(t *testing.T) {
		a := full
		a.TLSCA = ""
		if err := connectWith(t, s.ClientURL(), a); err != nil {
			t.Error(err)
		}
	})
	for name, change := range map[string]func(*NATSAuth){
		"no client certificate":  func(a *NATSAuth) { a.TLSCert, a.TLSKey = "", "" },
		"client of another CA":   func(a *NATSAuth) { a.TLSCert, a.TLSKey = stranger.ClientCert, stranger.ClientKey },
		"server not trusted":     func(a *NATSAuth) { a.TLSCA = stranger.CA },
		"TLS right, no password": func(a *NATSAuth) { a.User, a.Password = "", "" },
	} {
		t.Run("refused: "+name, func(t *testing.T) {
			a := full
			a.EmbeddedTLSCert, a.EmbeddedTLSKey, a.EmbeddedTLSVerify = "", "", false
			change(&a)
			if err := connectWith(t, s.ClientURL(), a); err == nil {
				t.Error("connected")
			}
		})
	}
	t.Run("refused: the pin does not match another server", func(t *testing.T) {
		a := full
		a.EmbeddedTLSCert, a.EmbeddedTLSKey = stranger.ServerCert, stranger.ServerKey
		opts, err := embeddedClientOptions(a)
		if err != nil {
			t.Fatal(err)
		}
		nc, err := nats.Connect(s.ClientURL(), opts...)
		if err == nil {
			nc.Close()
			t.Fatal("connected")
		}
		if !strings.Contains(err.Error(), ErrNATSCertMismatch.Error()) {
			t.Errorf("error %v, want %v", err, ErrNATSCertMismatch)
		}
	})
}

func TestNATSSecurityValidation(t *testing.T) {
	seedFile, _ := writeSeed(t)
	pki := natsdtest.NewPKI(t, "ca")
	missing := filepath.Join(t.TempDir(), "absent.pem")
	for _, tc := range []struct {
		name string
		role natsRole
		a    NATSAuth
		want []string // in the error
	}{
		{"user without password", natsEmbedded, NATSAuth{User: "ocr"}, []string{"OCRHOST_NATS_PASSWORD"}},
		{"password without user", natsExternal, NATSAuth{Password: testPassword}, []string{"OCRHOST_NATS_USER"}},
		{"two methods", natsClient, NATSAuth{User: "ocr", Password: testPassword, Token: testToken},
			[]string{"OCRHOST_NATS_USER and OCRHOST_NATS_TOKEN"}},
		{"token and seed", natsEmbedded, NATSAuth{Token: testToken, NKeySeedFile: seedFile},
			[]string{"OCRHOST_NATS_TOKEN and OCRHOST_NATS_NKEY_SEED_FILE"}},
		{"seed file missing", natsClient, NATSAuth{NKeySeedFile: missing}, []string{"OCRHOST_NATS_NKEY_SEED_FILE", missing}},
		{"creds with the embedded server", natsEmbedded, NATSAuth{CredsFile: seedFile}, []string{"OCRHOST_NATS_CREDS_FILE needs OCRHOST_NATS_URL"}},
		{"client cert without key", natsExternal, NATSAuth{TLSCert: pki.ClientCert}, []string{"OCRHOST_NATS_TLS_KEY"}},
		{"server cert without key", natsEmbedded, NATSAuth{EmbeddedTLSCert: pki.ServerCert}, []string{"OCRHOST_EMBEDDED_NATS_TLS_KEY"}},
		{"embedded TLS with an external server", natsExternal, NATSAuth{EmbeddedTLSCert: pki.ServerCert, EmbeddedTLSKey: pki.ServerKey},
			[]string{"OCRHOST_EMBEDDED_NATS_TLS_*", "OCRHOST_NATS_URL"}},
		{"verify without a CA", natsEmbedded, NATSAuth{EmbeddedTLSCert: pki.ServerCert, EmbeddedTLSKey: pki.ServerKey,
			EmbeddedTLSVerify: true, TLSCert: pki.ClientCert, TLSKey: pki.ClientKey}, []string{"OCRHOST_EMBEDDED_NATS_TLS_VERIFY", "OCRHOST_NATS_TLS_CA"}},
		{"client TLS with a plain embedded server", natsEmbedded, NATSAuth{TLSCA: pki.CA}, []string{"OCRHOST_EMBEDDED_NATS_TLS_CERT"}},
		{"users beside a token", natsEmbedded, NATSAuth{Token: testToken, UsersFile: seedFile}, []string{"OCRHOST_NATS_USERS_FILE", "token or users"}},
		{"users file missing", natsExternal, NATSAuth{UsersFile: missing}, []string{"OCRHOST_NATS_USERS_FILE", missing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := errors.Join(tc.a.validate(tc.role)...)
			if !errors.Is(err, ErrNATSSecurity) {
				t.Fatalf("%v, want %v", err, ErrNATSSecurity)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			for _, secret := range []string{testPassword, testToken} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error reveals a secret: %q", err)
				}
			}
		})
	}
	t.Run("a bad seed file is not quoted", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bad.nk")
		const text = "SUANOTAREALSEEDBUTLOOKSLIKEONEQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, f := range []func() error{
			func() error { _, err := embeddedServerOptions(NATSAuth{NKeySeedFile: path}); return err },
			func() error { _, err := natsOptions(NATSAuth{NKeySeedFile: path}); return err },
		} {
			err := f()
			if !errors.Is(err, ErrNATSSecurity) || strings.Contains(err.Error(), text[2:20]) {
				t.Errorf("%v: want %v without the file's text", err, ErrNATSSecurity)
			}
		}
	})
	t.Run("through loadConfig", func(t *testing.T) {
		t.Setenv("OCRHOST_NATS_PASSWORD", testPassword)
		t.Setenv("OCRHOST_NATS_TOKEN", testToken)
		_, err := loadConfig()
		if err == nil || !strings.Contains(err.Error(), "OCRHOST_NATS_USER") {
			t.Fatalf("%v, want an error naming OCRHOST_NATS_USER", err)
		}
		if strings.Contains(err.Error(), testPassword) || strings.Contains(err.Error(), testToken) {
			t.Errorf("error reveals a secret: %q", err)
		}
	})
}

func TestRedactURLs(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                           "nats://127.0.0.1:4222",
		"nats://ocr:" + testPassword + "@h:4222,tls://h2": "nats://redacted@h:4222,tls://h2",
		"nats://" + testToken + "@h:4222":                 "nats://redacted@h:4222",
		"nats://a b:" + testPassword + "@%zz":             "(unparsable URL)",
	} {
		if got := redactURLs(in); got != want {
			t.Errorf("redactURLs(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestServeSecured runs the host as a process with the embedded server
// secured by a password and verified TLS: the host, `invoke`'s connection
// and a client holding the secrets get in, others do not, and no secret
// reaches the log, nor the error of a host that cannot connect.
func TestServeSecured(t *testing.T) {
	testenv.Models(t)
	pki := natsdtest.NewPKI(t, "ocrhost-test-ca")
	natsPort := freePort(t)
	env := map[string]string{
		"OCRHOST_NATS_USER": "ocr", "OCRHOST_NATS_PASSWORD": testPassword,
		"OCRHOST_NATS_TLS_CA": pki.CA, "OCRHOST_NATS_TLS_CERT": pki.ClientCert, "OCRHOST_NATS_TLS_KEY": pki.ClientKey,
		"OCRHOST_EMBEDDED_NATS_TLS_CERT": pki.ServerCert, "OCRHOST_EMBEDDED_NATS_TLS_KEY": pki.ServerKey,
		"OCRHOST_EMBEDDED_NATS_TLS_VERIFY": "true",
		"OCRHOST_EMBEDDED_NATS_PORT":       fmt.Sprint(natsPort), "OCRHOST_LOG_LEVEL": "debug",
	}
	p := spawnServe(t, env)
	url := fmt.Sprintf("tls://127.0.0.1:%d", natsPort)

	// invoke reads the same variables from its environment.
	for k, v := range env {
		t.Setenv(k, v)
	}
	nc, err := connectWithin(url, 0)
	if err != nil {
		t.Fatalf("invoke's connection: %v", err)
	}
	rep, err := nc.Request("ocrhost.memory", nil, 10*time.Second)
	nc.Close()
	if err != nil || !strings.Contains(string(rep.Data), `"memory"`) {
		t.Fatalf("memory report over the secured connection: %v", err)
	}
	t.Setenv("OCRHOST_NATS_PASSWORD", "guess")
	if nc, err := connectWithin(url, 0); !errors.Is(err, nats.ErrAuthorization) {
		if nc != nil {
			nc.Close()
		}
		t.Errorf("wrong password: %v, want %v", err, nats.ErrAuthorization)
	}
	if nc, err := nats.Connect(url, nats.RootCAs(pki.CA), nats.UserInfo("ocr", testPassword)); err == nil {
		nc.Close()
		t.Error("a client without a certificate connected")
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(t, 30*time.Second); err != nil {
		t.Fatalf("exit: %v\n%s", err, p.logs)
	}
	if !strings.Contains(p.logs.String(), "ocrhost ready") {
		t.Errorf("log lacks the ready line:\n%s", p.logs)
	}

	// A host given a password in the URL of an unreachable server, and a seed.
	seedFile, seed := writeSeed(t)
	bad := spawnHost(t, map[string]string{"OCRHOST_NATS_URL": fmt.Sprintf("nats://ocr:%s@127.0.0.1:%d", testPassword, freePort(t)),
		"OCRHOST_NATS_NKEY_SEED_FILE": seedFile, "OCRHOST_LOG_LEVEL": "debug"})
	if err := bad.wait(t, 30*time.Second); err == nil || !strings.Contains(bad.logs.String(), "connect to NATS at nats://redacted@") {
		t.Errorf("exit %v, log:\n%s", err, bad.logs)
	}
	for _, out := range []string{p.logs.String(), bad.logs.String()} {
		for _, secret := range []string{testPassword, seed[2:20]} {
			if strings.Contains(out, secret) {
				t.Errorf("output reveals a secret:\n%s", out)
			}
		}
	}
}
