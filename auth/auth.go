// Package auth says who is calling the host: the principal a credential
// names, the bearer-token file principals are listed in, and the HTTP
// middleware that checks a request's credential.
//
// A token file holds one token a line: the principal's name, the token,
// and optionally the word admin, separated by white space; blank lines and
// lines starting with # are skipped:
//
//	# name   token                              role
//	billing  3f9a0c5e1b7d4e2a9c8b6d5e4f3a2b1c
//	ops      8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f   admin
//
// The file is read again when it changes (checked at most once per poll
// interval, on use), so tokens rotate without a restart; a file that no
// longer parses keeps the previous tokens in force.
package auth

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// MinTokenLength is the shortest token a file may hold: shorter ones are
// guessable.
const MinTokenLength = 16

// DefaultPollInterval is how often, at most, a token file is checked for a
// change.
const DefaultPollInterval = time.Second

var (
	// ErrTokenFile marks a token file that cannot be read or parsed. Its
	// messages name the file and line, never a token.
	ErrTokenFile = errors.New("token file")
	// ErrNoCredential: the request carries no credential.
	ErrNoCredential = errors.New("no credential")
	// ErrBadCredential: the credential names no principal.
	ErrBadCredential = errors.New("invalid credential")
)

// Principal is who a credential names.
type Principal struct {
	// Name is the token's name, a client certificate's common name, or a
	// NATS user or nkey; empty for an anonymous caller of an open door.
	Name string
	// Admin principals see every task and the operational routes.
	Admin bool
}

type ctxKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal ctx carries, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// Owns reports whether p may see what owner submitted: p is an admin, or
// is owner. Nothing is owned by an empty name but the admins'.
func (p Principal) Owns(owner string) bool {
	return p.Admin || (p.Name != "" && p.Name == owner)
}

// namePattern keeps names fit for logs, headers and NATS subjects.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

type entry struct {
	digest [sha256.Size]byte
	p      Principal
}

// Tokens is a token file, read again when it changes.
type Tokens struct {
	path string
	poll time.Duration
	log  *slog.Logger

	mu        sync.Mutex
	entries   []entry
	stamp     fileStamp
	lastCheck time.Time
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// Option configures Tokens.
type Option func(*Tokens)

// WithPollInterval sets how often, at most, the file is checked for a
// change (default DefaultPollInterval; 0 checks on every use).
func WithPollInterval(d time.Duration) Option { return func(t *Tokens) { t.poll = d } }

// WithLogger sets where reloads and unusable new versions of the file are
// reported (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(t *Tokens) { t.log = l } }

// OpenTokens reads the token file at path; it must hold at least one token.
func OpenTokens(path string, opts ...Option) (*Tokens, error) {
	t := &Tokens{path: path, poll: DefaultPollInterval, log: slog.Default()}
	for _, o := range opts {
		o(t)
	}
	entries, stamp, err := readTokens(path)
	if err != nil {
		return nil, err
	}
	t.entries, t.stamp, t.lastCheck = entries, stamp, time.Now()
	return t, nil
}

// Lookup returns the principal token names. Every listed token is compared,
// in constant time, whichever matches, so the time taken tells nothing of
// how close a guess came.
func (t *Tokens) Lookup(token string) (Principal, bool) {
	entries := t.current()
	d := sha256.Sum256([]byte(token))
	found := -1
	for i := range entries {
		if subtle.ConstantTimeCompare(d[:], entries[i].digest[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Principal{}, false
	}
	return entries[found].p, true
}

// Named returns the principal the file lists under name, so that a caller
// named by other means (a client certificate) has the role the file gives
// that name.
func (t *Tokens) Named(name string) (Principal, bool) {
	for _, e := range t.current() {
		if e.p.Name == name {
			return e.p, true
		}
	}
	return Principal{}, false
}

// current returns the tokens in force, re-reading the file when its
// modification time or size changed since the last read.
func (t *Tokens) current() []entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if now.Sub(t.lastCheck) < t.poll {
		return t.entries
	}
	t.lastCheck = now
	fi, err := os.Stat(t.path)
	if err != nil {
		t.log.Error("auth: token file unreadable; the previous tokens stay in force", "path", t.path, "err", err)
		return t.entries
	}
	if (fileStamp{fi.ModTime(), fi.Size()}) == t.stamp {
		return t.entries
	}
	entries, stamp, err := readTokens(t.path)
	if err != nil {
		t.log.Error("auth: token file changed but is unusable; the previous tokens stay in force", "err", err)
		// Not retried until it changes again.
		t.stamp = fileStamp{fi.ModTime(), fi.Size()}
		return t.entries
	}
	t.entries, t.stamp = entries, stamp
	t.log.Info("auth: token file reloaded", "path", t.path, "tokens", len(entries))
	return t.entries
}

// readTokens parses the file; its errors name lines, never their text.
func readTokens(path string) ([]entry, fileStamp, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("%w: %w", ErrTokenFile, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("%w: %w", ErrTokenFile, err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("%w: %w", ErrTokenFile, err)
	}
	defer clear(data)
	var entries []entry
	names := map[string]bool{}
	digests := map[[sha256.Size]byte]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		bad := func(why string) error { return fmt.Errorf("%w %s line %d: %s", ErrTokenFile, path, n, why) }
		f := strings.Fields(line)
		if len(f) < 2 || len(f) > 3 || (len(f) == 3 && f[2] != "admin") {
			return nil, fileStamp{}, bad("want <name> <token> [admin]")
		}
		if !namePattern.MatchString(f[0]) {
			return nil, fileStamp{}, bad("a name is 1 to 64 letters, digits or _ . @ -, starting with a letter or digit")
		}
		if len(f[1]) < MinTokenLength {
			return nil, fileStamp{}, bad(fmt.Sprintf("token shorter than %d characters", MinTokenLength))
		}
		d := sha256.Sum256([]byte(f[1]))
		if names[f[0]] || digests[d] {
			return nil, fileStamp{}, bad("name or token listed twice")
		}
		names[f[0]], digests[d] = true, true
		entries = append(entries, entry{digest: d, p: Principal{Name: f[0], Admin: len(f) == 3}})
	}
	if err := sc.Err(); err != nil {
		return nil, fileStamp{}, fmt.Errorf("%w %s: %w", ErrTokenFile, path, err)
	}
	if len(entries) == 0 {
		return nil, fileStamp{}, fmt.Errorf("%w %s: no token", ErrTokenFile, path)
	}
	return entries, fileStamp{fi.ModTime(), fi.Size()}, nil
}
