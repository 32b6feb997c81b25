package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/kelseyhightower/envconfig"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/ocrhost/ocrhost/internal/natsd"
)

var (
	// ErrNATSSecurity marks an unusable NATS credential or TLS setting.
	// Its messages name variables and files, never a secret.
	ErrNATSSecurity = errors.New("NATS security")
	// ErrNATSCertMismatch means the server the host dialled for its own
	// embedded NATS server presented another certificate.
	ErrNATSCertMismatch = errors.New("NATS server certificate is not the embedded server's")
)

// NATSAuth is how the host and `invoke` prove themselves to NATS and, when
// `serve` runs the embedded server, what that server demands: the same
// secret on both sides, so that `serve` alone is secured. Exported only so
// that envconfig fills it as an embedded part of config.
type NATSAuth struct {
	User         string `envconfig:"NATS_USER" desc:"user name for NATS (with OCRHOST_NATS_PASSWORD); the embedded server then admits only this user"`
	Password     string `envconfig:"NATS_PASSWORD" desc:"password of OCRHOST_NATS_USER"`
	PasswordFile string `envconfig:"NATS_PASSWORD_FILE" desc:"file holding the password of OCRHOST_NATS_USER (e.g. a mounted Secret), instead of OCRHOST_NATS_PASSWORD"`
	Token        string `envconfig:"NATS_TOKEN" desc:"token for NATS; the embedded server then admits only this token"`
	TokenFile    string `envconfig:"NATS_TOKEN_FILE" desc:"file holding the NATS token (e.g. a mounted Secret), instead of OCRHOST_NATS_TOKEN"`
	UsersFile    string `envconfig:"NATS_USERS_FILE" desc:"NATS principals, one '<name> <password or public nkey> [admin]' per line: the embedded server admits them beside the host's own user or nkey, tenants (no admin) with their own jobs and tasks only (docs/security.md); with OCRHOST_NATS_URL the file only names the tenants"`
	NKeySeedFile string `envconfig:"NATS_NKEY_SEED_FILE" desc:"file holding a user nkey seed (SU...); the embedded server then admits only its public key"`
	CredsFile    string `envconfig:"NATS_CREDS_FILE" desc:"user credentials file (JWT and seed) for a NATS server in operator mode; needs OCRHOST_NATS_URL"`
	TLSCA        string `envconfig:"NATS_TLS_CA" desc:"CA certificates (PEM) the NATS server's certificate must chain to; setting it turns TLS on. With OCRHOST_EMBEDDED_NATS_TLS_VERIFY, also the CA of client certificates"`
	TLSCert      string `envconfig:"NATS_TLS_CERT" desc:"client certificate (PEM) presented to NATS, with OCRHOST_NATS_TLS_KEY; turns TLS on"`
	TLSKey       string `envconfig:"NATS_TLS_KEY" desc:"private key of OCRHOST_NATS_TLS_CERT"`

	EmbeddedTLSCert   string `envconfig:"EMBEDDED_NATS_TLS_CERT" desc:"certificate (PEM) of the embedded NATS server, with OCRHOST_EMBEDDED_NATS_TLS_KEY; the server then requires TLS"`
	EmbeddedTLSKey    string `envconfig:"EMBEDDED_NATS_TLS_KEY" desc:"private key of OCRHOST_EMBEDDED_NATS_TLS_CERT"`
	EmbeddedTLSVerify bool   `envconfig:"EMBEDDED_NATS_TLS_VERIFY" default:"false" desc:"the embedded server requires client certificates signed by OCRHOST_NATS_TLS_CA (the host itself presents OCRHOST_NATS_TLS_CERT)"`
}

// readSecretFiles fills Password and Token from their *_FILE variants, so
// that a secret can come from a mounted file rather than the environment,
// which other processes of the same user and crash reports may read.
func (a *NATSAuth) readSecretFiles() []error {
	var errs []error
	for _, s := range []struct {
		name string
		file string
		into *string
	}{{"OCRHOST_NATS_PASSWORD", a.PasswordFile, &a.Password}, {"OCRHOST_NATS_TOKEN", a.TokenFile, &a.Token}} {
		if s.file == "" {
			continue
		}
		if *s.into != "" {
			errs = append(errs, fmt.Errorf("%w: set %s or %s_FILE, not both", ErrNATSSecurity, s.name, s.name))
			continue
		}
		secret, err := readSecretFile(s.file)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s_FILE: %w", ErrNATSSecurity, s.name, err))
			continue
		}
		*s.into = secret
	}
	return errs
}

// readSecretFile returns a file's text less surrounding white space (a
// Secret written with echo ends in a newline). Its errors never quote the
// file.
func readSecretFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	defer clear(data)
	secret := strings.TrimSpace(string(data))
	if secret == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return secret, nil
}

// natsOptionsFromEnv reads and checks only the NATS security variables and
// returns the matching connection options, for commands that connect to a
// host's NATS without running one.
func natsOptionsFromEnv() ([]nats.Option, error) {
	var a NATSAuth
	if err := envconfig.Process("OCRHOST", &a); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if err := errors.Join(a.readSecretFiles()...); err != nil {
		return nil, err
	}
	if err := errors.Join(a.validate(natsClient)...); err != nil {
		return nil, err
	}
	return natsOptions(a)
}

// open reports whether a presents no credential: with the embedded server,
// anyone reaching its port then has the whole NATS side.
func (a NATSAuth) open() bool {
	return a.User == "" && a.Token == "" && a.NKeySeedFile == "" && a.CredsFile == ""
}

// natsRole is what the settings are checked for.
type natsRole int

const (
	natsClient   natsRole = iota // `invoke`: a client of some host's NATS
	natsExternal                 // `serve` with OCRHOST_NATS_URL
	natsEmbedded                 // `serve` running the embedded server
)

func serveRole(natsURL string) natsRole {
	if natsURL == "" {
		return natsEmbedded
	}
	return natsExternal
}

// validate checks the combinations for role.
func (a NATSAuth) validate(role natsRole) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrNATSSecurity}, args...)...))
	}
	if (a.User == "") != (a.Password == "") {
		bad("OCRHOST_NATS_USER and OCRHOST_NATS_PASSWORD go together")
	}
	var methods []string
	for _, m := range []struct {
		name string
		set  bool
	}{{"OCRHOST_NATS_USER", a.User != "" || a.Password != ""}, {"OCRHOST_NATS_TOKEN", a.Token != ""},
		{"OCRHOST_NATS_NKEY_SEED_FILE", a.NKeySeedFile != ""}, {"OCRHOST_NATS_CREDS_FILE", a.CredsFile != ""}} {
		if m.set {
			methods = append(methods, m.name)
		}
	}
	if len(methods) > 1 {
		bad("set one way of authenticating, not %s", strings.Join(methods, " and "))
	}
	if (a.TLSCert == "") != (a.TLSKey == "") {
		bad("OCRHOST_NATS_TLS_CERT and OCRHOST_NATS_TLS_KEY go together")
	}
	if (a.EmbeddedTLSCert == "") != (a.EmbeddedTLSKey == "") {
		bad("OCRHOST_EMBEDDED_NATS_TLS_CERT and OCRHOST_EMBEDDED_NATS_TLS_KEY go together")
	}
	files := map[string]string{"OCRHOST_NATS_USERS_FILE": a.UsersFile, "OCRHOST_NATS_NKEY_SEED_FILE": a.NKeySeedFile, "OCRHOST_NATS_CREDS_FILE": a.CredsFile,
		"OCRHOST_NATS_TLS_CA": a.TLSCA, "OCRHOST_NATS_TLS_CERT": a.TLSCert, "OCRHOST_NATS_TLS_KEY": a.TLSKey}
	if role == natsEmbedded {
		files["OCRHOST_EMBEDDED_NATS_TLS_KEY"] = a.EmbeddedTLSKey
	}
	if role != natsExternal {
		files["OCRHOST_EMBEDDED_NATS_TLS_CERT"] = a.EmbeddedTLSCert
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if path := files[name]; path != "" {
			if _, err := os.Stat(path); err != nil {
				bad("%s: %v", name, err)
			}
		}
	}
	embedded := role == natsEmbedded
	switch {
	case embedded && a.UsersFile != "" && a.User == "" && a.NKeySeedFile == "":
		bad("OCRHOST_NATS_USERS_FILE needs the host's own OCRHOST_NATS_USER (and password) or OCRHOST_NATS_NKEY_SEED_FILE: a NATS server takes a token or users, not both")
	case role == natsExternal && (a.EmbeddedTLSCert != "" || a.EmbeddedTLSVerify):
		bad("OCRHOST_EMBEDDED_NATS_TLS_* apply to the embedded server only, which does not run with OCRHOST_NATS_URL set")
	case embedded && a.CredsFile != "":
		bad("OCRHOST_NATS_CREDS_FILE needs OCRHOST_NATS_URL: the embedded server has no operator or accounts to check a JWT against")
	case embedded && a.EmbeddedTLSVerify && (a.EmbeddedTLSCert == "" || a.TLSCA == "" || a.TLSCert == ""):
		bad("OCRHOST_EMBEDDED_NATS_TLS_VERIFY needs OCRHOST_EMBEDDED_NATS_TLS_CERT and _KEY (the server's), " +
			"OCRHOST_NATS_TLS_CA (to check clients) and OCRHOST_NATS_TLS_CERT and _KEY (the host's own client)")
	case embedded && a.EmbeddedTLSCert == "" && (a.TLSCA != "" || a.TLSCert != ""):
		bad("OCRHOST_NATS_TLS_CA and OCRHOST_NATS_TLS_CERT need a TLS server: set OCRHOST_EMBEDDED_NATS_TLS_CERT and _KEY, or OCRHOST_NATS_URL")
	}
	return errs
}

// natsOptions are the connection options that present a's credentials and,
// when a asks for TLS, verify the server against OCRHOST_NATS_TLS_CA. With
// no CA but the embedded server's certificate set (`invoke` beside a
// `serve` sharing its variables), they trust exactly that certificate;
// otherwise the system roots.
func natsOptions(a NATSAuth) ([]nats.Option, error) {
	if a.TLSCA == "" && a.EmbeddedTLSCert != "" {
		return embeddedClientOptions(a)
	}
	opts, err := credentialOptions(a)
	if err != nil || (a.TLSCA == "" && a.TLSCert == "") {
		return opts, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if a.TLSCA != "" {
		if tc.RootCAs, err = certPool(a.TLSCA, "OCRHOST_NATS_TLS_CA"); err != nil {
			return nil, err
		}
	}
	if err := addClientCert(tc, a); err != nil {
		return nil, err
	}
	return append(opts, nats.Secure(tc)), nil
}

// embeddedClientOptions are the host's options for its own embedded
// server: the same credentials, and with TLS, trust in exactly the
// certificate that server presents. Pinning it spares the operator a CA
// and a certificate naming the listen address.
func embeddedClientOptions(a NATSAuth) ([]nats.Option, error) {
	opts, err := credentialOptions(a)
	if err != nil || a.EmbeddedTLSCert == "" {
		return opts, err
	}
	leaf, err := leafCertificate(a.EmbeddedTLSCert)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Verification is the pin below, not a chain to a root.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, leaf) {
				return ErrNATSCertMismatch
			}
			return nil
		},
	}
	if err := addClientCert(tc, a); err != nil {
		return nil, err
	}
	return append(opts, nats.Secure(tc)), nil
}

func credentialOptions(a NATSAuth) ([]nats.Option, error) {
	switch {
	case a.User != "":
		return []nats.Option{nats.UserInfo(a.User, a.Password)}, nil
	case a.Token != "":
		return []nats.Option{nats.Token(a.Token)}, nil
	case a.NKeySeedFile != "":
		opt, err := nats.NkeyOptionFromSeed(a.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("%w: OCRHOST_NATS_NKEY_SEED_FILE %s: %v", ErrNATSSecurity, a.NKeySeedFile, err)
		}
		return []nats.Option{opt}, nil
	case a.CredsFile != "":
		return []nats.Option{nats.UserCredentials(a.CredsFile)}, nil
	}
	return nil, nil
}

// leafCertificate is the DER of the first certificate in a PEM file: the
// server's own, the chain following it.
func leafCertificate(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: OCRHOST_EMBEDDED_NATS_TLS_CERT: %v", ErrNATSSecurity, err)
	}
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return nil, fmt.Errorf("%w: OCRHOST_EMBEDDED_NATS_TLS_CERT: no PEM certificate in %s", ErrNATSSecurity, path)
		}
		if b.Type == "CERTIFICATE" {
			return b.Bytes, nil
		}
	}
}

func addClientCert(tc *tls.Config, a NATSAuth) error {
	if a.TLSCert == "" {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(a.TLSCert, a.TLSKey)
	if err != nil {
		return fmt.Errorf("%w: OCRHOST_NATS_TLS_CERT/_KEY: %v", ErrNATSSecurity, err)
	}
	tc.Certificates = []tls.Certificate{cert}
	return nil
}

func certPool(path, name string) (*x509.CertPool, error) {
	pemData, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNATSSecurity, name, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("%w: %s: no PEM certificate in %s", ErrNATSSecurity, name, path)
	}
	return pool, nil
}

// embeddedServerOptions make the embedded server demand a's credential and,
// with OCRHOST_EMBEDDED_NATS_TLS_CERT, TLS.
func embeddedServerOptions(a NATSAuth) ([]natsd.Option, error) {
	var opts []natsd.Option
	switch {
	case a.User != "":
		opts = append(opts, natsd.WithUser(a.User, a.Password))
	case a.Token != "":
		opts = append(opts, natsd.WithToken(a.Token))
	case a.NKeySeedFile != "":
		pub, err := publicNKey(a.NKeySeedFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, natsd.WithNKeys(pub))
	}
	if a.EmbeddedTLSCert == "" {
		return opts, nil
	}
	cert, err := tls.LoadX509KeyPair(a.EmbeddedTLSCert, a.EmbeddedTLSKey)
	if err != nil {
		return nil, fmt.Errorf("%w: OCRHOST_EMBEDDED_NATS_TLS_CERT/_KEY: %v", ErrNATSSecurity, err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if a.EmbeddedTLSVerify {
		if tc.ClientCAs, err = certPool(a.TLSCA, "OCRHOST_NATS_TLS_CA"); err != nil {
			return nil, err
		}
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return append(opts, natsd.WithTLS(tc)), nil
}

// publicNKey derives the public user key from a seed file, which may be a
// bare seed or a decorated creds-style file.
func publicNKey(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: OCRHOST_NATS_NKEY_SEED_FILE: %v", ErrNATSSecurity, err)
	}
	defer clear(data)
	kp, err := nkeys.ParseDecoratedNKey(data)
	if err != nil {
		return "", fmt.Errorf("%w: OCRHOST_NATS_NKEY_SEED_FILE %s: %v", ErrNATSSecurity, path, err)
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil || !nkeys.IsValidPublicUserKey(pub) {
		return "", fmt.Errorf("%w: OCRHOST_NATS_NKEY_SEED_FILE %s: not a user seed (SU...)", ErrNATSSecurity, path)
	}
	return pub, nil
}

// redactURLs drops the user information (a password or token) from each
// URL of a NATS server list before it is logged or put in an error.
func redactURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		switch {
		case err != nil:
			parts[i] = "(unparsable URL)" // the parse error would quote it
		case u.User != nil:
			u.User = url.User("redacted")
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}
