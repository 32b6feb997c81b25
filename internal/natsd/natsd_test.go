package natsd

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/ocrhost/ocrhost/internal/natsd/natsdtest"
)

func TestStartServesJetStreamAndCleansUp(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	dir := s.tmpDir
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AddStream(&nats.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatalf("JetStream not enabled: %v", err)
	}
	if _, err := js.Publish("t.x", []byte("hi"), nats.AckWait(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	s.Shutdown()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("temporary store %s not removed: %v", dir, err)
	}
}

func TestStoreDirKept(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(WithStoreDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("configured store removed: %v", err)
	}
}

func TestAuthAdmitsOnlyTheRightSecret(t *testing.T) {
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := user.PublicKey()
	seed, _ := user.Seed()
	other, _ := nkeys.CreateUser()
	otherSeed, _ := other.Seed()
	nkeyOpt := func(seed []byte) nats.Option {
		kp, err := nkeys.FromSeed(seed)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := kp.PublicKey()
		return nats.Nkey(pub, kp.Sign)
	}
	for _, tc := range []struct {
		name         string
		server       Option
		right, wrong nats.Option
	}{
		{"user", WithUser("ocr", "s3cret"), nats.UserInfo("ocr", "s3cret"), nats.UserInfo("ocr", "guess")},
		{"token", WithToken("t0ken"), nats.Token("t0ken"), nats.Token("t0kem")},
		{"nkey", WithNKeys(pub), nkeyOpt(seed), nkeyOpt(otherSeed)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Start(tc.server)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Shutdown()
			nc, err := nats.Connect(s.ClientURL(), tc.right)
			if err != nil {
				t.Fatalf("right secret refused: %v", err)
			}
			nc.Close()
			for name, opts := range map[string][]nats.Option{"wrong": {tc.wrong}, "missing": nil} {
				if nc, err := nats.Connect(s.ClientURL(), opts...); !errors.Is(err, nats.ErrAuthorization) {
					if nc != nil {
						nc.Close()
					}
					t.Errorf("%s secret: %v, want %v", name, err, nats.ErrAuthorization)
				}
			}
		})
	}
}

func TestTLSVerifiesClients(t *testing.T) {
	pki := natsdtest.NewPKI(t, "ca")
	stranger := natsdtest.NewPKI(t, "stranger")
	cert, err := tls.LoadX509KeyPair(pki.ServerCert, pki.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(pki.CA)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	s, err := Start(WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	if !strings.HasPrefix(s.ClientURL(), "tls://") {
		t.Errorf("client URL %s", s.ClientURL())
	}
	nc, err := nats.Connect(s.ClientURL(), nats.RootCAs(pki.CA), nats.ClientCert(pki.ClientCert, pki.ClientKey))
	if err != nil {
		t.Fatalf("trusted client refused: %v", err)
	}
	if !nc.TLSRequired() {
		t.Error("connection not over TLS")
	}
	nc.Close()
	for name, opts := range map[string][]nats.Option{
		"no client certificate": {nats.RootCAs(pki.CA)},
		"client of another CA":  {nats.RootCAs(pki.CA), nats.ClientCert(stranger.ClientCert, stranger.ClientKey)},
		"server not trusted":    {nats.RootCAs(stranger.CA), nats.ClientCert(pki.ClientCert, pki.ClientKey)},
		"plain text":            {nats.Name("plain")},
	} {
		if nc, err := nats.Connect(strings.Replace(s.ClientURL(), "tls://", "nats://", 1), opts...); err == nil {
			nc.Close()
			t.Errorf("%s: connected", name)
		}
	}
}
