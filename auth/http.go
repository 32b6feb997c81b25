package auth

import (
	"errors"
	"net/http"
	"strings"
)

// HTTP checks the credential of HTTP requests: a bearer token listed in
// Tokens, or a client certificate the TLS server verified, whose subject
// common name is the principal's name. With neither configured the door
// is open and every caller is an anonymous admin, as before authentication
// existed.
type HTTP struct {
	tokens *Tokens
	certs  bool
}

// NewHTTP checks bearer tokens against tokens (nil: none accepted) and,
// with clientCerts, names a caller by its verified client certificate.
func NewHTTP(tokens *Tokens, clientCerts bool) *HTTP {
	return &HTTP{tokens: tokens, certs: clientCerts}
}

// Open reports whether no credential is checked.
func (h *HTTP) Open() bool { return h.tokens == nil && !h.certs }

// Authenticate returns the principal r's credential names: its bearer
// token when it has an Authorization header, else its client certificate,
// which has the role Tokens gives its common name (admin or not) when the
// file lists it.
func (h *HTTP) Authenticate(r *http.Request) (Principal, error) {
	if h.Open() {
		return Principal{Admin: true}, nil
	}
	if header := r.Header.Get("Authorization"); header != "" {
		scheme, token, _ := strings.Cut(header, " ")
		token = strings.TrimSpace(token)
		if !strings.EqualFold(scheme, "Bearer") || token == "" || h.tokens == nil {
			return Principal{}, ErrBadCredential
		}
		if p, ok := h.tokens.Lookup(token); ok {
			return p, nil
		}
		return Principal{}, ErrBadCredential
	}
	if h.certs && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		cn := r.TLS.VerifiedChains[0][0].Subject.CommonName
		if !namePattern.MatchString(cn) {
			return Principal{}, ErrBadCredential
		}
		if h.tokens != nil {
			if p, ok := h.tokens.Named(cn); ok {
				return p, nil
			}
		}
		return Principal{Name: cn}, nil
	}
	return Principal{}, ErrNoCredential
}

// Require serves next only to requests whose credential names a principal,
// and with adminOnly only to admins, with the principal in the request's
// context (FromContext). A missing credential is answered 401 with
// WWW-Authenticate, a wrong one 401, a principal without the right 403.
func (h *HTTP) Require(next http.Handler, adminOnly bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := h.Authenticate(r)
		switch {
		case errors.Is(err, ErrNoCredential):
			w.Header().Set("WWW-Authenticate", `Bearer realm="ocrhost"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Bearer realm="ocrhost", error="invalid_token"`)
			http.Error(w, "invalid credential", http.StatusUnauthorized)
			return
		case adminOnly && !p.Admin:
			http.Error(w, "forbidden: admin only", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), p)))
	})
}
