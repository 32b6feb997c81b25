// Package natsd runs the embedded NATS server (with JetStream) that a host
// uses when no OCRHOST_NATS_URL is given, and that tests use as a real NATS.
package natsd

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ErrNotReady means the server did not accept connections in time.
var ErrNotReady = errors.New("natsd: server not ready")

// Server is a running embedded NATS server.
type Server struct {
	*server.Server
	tmpDir string // removed on Shutdown when we created it
}

type options struct {
	host     string
	port     int
	storeDir string
	maxPay   int32

	user, password string
	token          string
	nkeys          []string
	users          []User
	tls            *tls.Config
	storeKey       string
}

// Option configures the embedded server.
type Option func(*options)

// WithListen sets the client address; port -1 picks a free one.
func WithListen(host string, port int) Option {
	return func(o *options) { o.host, o.port = host, port }
}

// WithStoreDir keeps JetStream data in dir (default: a temporary folder
// removed at shutdown).
func WithStoreDir(dir string) Option { return func(o *options) { o.storeDir = dir } }

// WithMaxPayload sets the largest message the server accepts (default 8 MiB).
func WithMaxPayload(n int32) Option { return func(o *options) { o.maxPay = n } }

// WithUser admits only clients that present this user and password.
func WithUser(user, password string) Option {
	return func(o *options) { o.user, o.password = user, password }
}

// WithToken admits only clients that present this token.
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithNKeys admits only clients that sign the server's nonce with the seed
// of one of these public user nkeys (U...).
func WithNKeys(publicKeys ...string) Option {
	return func(o *options) { o.nkeys = append(o.nkeys, publicKeys...) }
}

// User is one client the server admits, with what it may do.
type User struct {
	// Name and Password (plain, or a bcrypt hash) admit a user; NKey (a
	// public user nkey, U...) admits whoever signs with its seed instead.
	Name, Password, NKey string
	// Publish and Subscribe list the subjects the user may publish and
	// subscribe to; both nil: every subject.
	Publish, Subscribe []string
}

// WithUsers admits these users too. It goes with WithUser or WithNKeys
// (whose clients may do everything), not with WithToken: a NATS server
// has either one token or a list of users.
func WithUsers(users ...User) Option { return func(o *options) { o.users = append(o.users, users...) } }

// WithTLS makes the server require TLS with cfg; when cfg.ClientAuth is
// tls.RequireAndVerifyClientCert, clients must also present a certificate
// that cfg.ClientCAs verify.
func WithTLS(cfg *tls.Config) Option { return func(o *options) { o.tls = cfg } }

// WithEncryption encrypts JetStream's store with key, by the server's own
// store cipher (ChaCha20-Poly1305): messages, KV entries and objects are
// unreadable on disk without it. A store written with one key cannot be
// read with another, nor without one.
func WithEncryption(key string) Option { return func(o *options) { o.storeKey = key } }

// Start starts a server and waits until it accepts clients.
func Start(opts ...Option) (*Server, error) {
	o := options{host: "127.0.0.1", port: -1, maxPay: 8 << 20}
	for _, f := range opts {
		f(&o)
	}
	s := &Server{}
	dir := o.storeDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ocrhost-nats-")
		if err != nil {
			return nil, fmt.Errorf("natsd: %w", err)
		}
		dir, s.tmpDir = tmp, tmp
	}
	so := &server.Options{
		Host:          o.host,
		Port:          o.port,
		JetStream:     true,
		StoreDir:      dir,
		MaxPayload:    o.maxPay,
		NoSigs:        true,
		NoLog:         true,
		Username:      o.user,
		Password:      o.password,
		Authorization: o.token,
	}
	if o.storeKey != "" {
		so.JetStreamKey, so.JetStreamCipher = o.storeKey, server.ChaCha
	}
	for _, k := range o.nkeys {
		so.Nkeys = append(so.Nkeys, &server.NkeyUser{Nkey: k})
	}
	if len(o.users) > 0 && o.user != "" {
		// The server takes one user or a list; the host's own user joins
		// the list, free to do everything.
		so.Users = append(so.Users, &server.User{Username: o.user, Password: o.password})
		so.Username, so.Password = "", ""
	}
	for _, u := range o.users {
		var perms *server.Permissions
		if u.Publish != nil || u.Subscribe != nil {
			perms = &server.Permissions{Publish: &server.SubjectPermission{Allow: u.Publish},
				Subscribe: &server.SubjectPermission{Allow: u.Subscribe}}
		}
		if u.NKey != "" {
			so.Nkeys = append(so.Nkeys, &server.NkeyUser{Nkey: u.NKey, Permissions: perms})
		} else {
			so.Users = append(so.Users, &server.User{Username: u.Name, Password: u.Password, Permissions: perms})
		}
	}
	if o.tls != nil {
		so.TLS, so.TLSConfig = true, o.tls
		so.TLSVerify = o.tls.ClientAuth == tls.RequireAndVerifyClientCert
	}
	ns, err := server.NewServer(so)
	if err != nil {
		s.cleanup()
		return nil, fmt.Errorf("natsd: %w", err)
	}
	s.Server = ns
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		s.cleanup()
		return nil, ErrNotReady
	}
	return s, nil
}

// Shutdown stops the server and removes a temporary store.
func (s *Server) Shutdown() {
	s.Server.Shutdown()
	s.Server.WaitForShutdown()
	s.cleanup()
}

func (s *Server) cleanup() {
	if s.tmpDir != "" {
		os.RemoveAll(s.tmpDir)
	}
}
