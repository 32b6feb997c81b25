package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/ocrhost/ocrhost/auth"
)

// ErrHTTPSecurity marks an unusable HTTP credential or TLS setting; its
// messages name variables and files, never a secret.
var ErrHTTPSecurity = errors.New("HTTP security")

// minStoreKey is the shortest JetStream encryption key accepted.
const minStoreKey = 32

func (c config) validateHTTPAuth() []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrHTTPSecurity}, args...)...))
	}
	if (c.HTTPTLSCert == "") != (c.HTTPTLSKey == "") {
		bad("OCRHOST_HTTP_TLS_CERT and OCRHOST_HTTP_TLS_KEY go together")
	}
	if c.HTTPClientCA != "" && c.HTTPTLSCert == "" {
		bad("OCRHOST_HTTP_CLIENT_CA needs OCRHOST_HTTP_TLS_CERT and _KEY: client certificates come over TLS")
	}
	for name, path := range map[string]string{"OCRHOST_HTTP_TOKENS_FILE": c.HTTPTokensFile, "OCRHOST_HTTP_TLS_CERT": c.HTTPTLSCert,
		"OCRHOST_HTTP_TLS_KEY": c.HTTPTLSKey, "OCRHOST_HTTP_CLIENT_CA": c.HTTPClientCA, "OCRHOST_JS_ENCRYPTION_KEY_FILE": c.JSEncryptionKeyFile} {
		if path != "" {
			if _, err := os.Stat(path); err != nil {
				bad("%s: %v", name, err)
			}
		}
	}
	return errs
}

// httpSecurity returns the authentication of the HTTP listeners and, with
// OCRHOST_HTTP_TLS_CERT, their TLS configuration (nil: plain HTTP).
func (c config) httpSecurity(log *slog.Logger) (*auth.HTTP, *tls.Config, error) {
	var tokens *auth.Tokens
	if c.HTTPTokensFile != "" {
		var err error
		if tokens, err = auth.OpenTokens(c.HTTPTokensFile, auth.WithLogger(log)); err != nil {
			return nil, nil, fmt.Errorf("%w: OCRHOST_HTTP_TOKENS_FILE: %w", ErrHTTPSecurity, err)
		}
	}
	if c.HTTPTLSCert == "" {
		return auth.NewHTTP(tokens, false), nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.HTTPTLSCert, c.HTTPTLSKey)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: OCRHOST_HTTP_TLS_CERT/_KEY: %v", ErrHTTPSecurity, err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if c.HTTPClientCA != "" {
		pem, err := os.ReadFile(c.HTTPClientCA)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: OCRHOST_HTTP_CLIENT_CA: %v", ErrHTTPSecurity, err)
		}
		tc.ClientCAs = x509.NewCertPool()
		if !tc.ClientCAs.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("%w: OCRHOST_HTTP_CLIENT_CA: no PEM certificate in %s", ErrHTTPSecurity, c.HTTPClientCA)
		}
		// Not required at the handshake: probes (/healthz, /readyz) come
		// without one, and a bearer token may stand in for it.
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return auth.NewHTTP(tokens, c.HTTPClientCA != ""), tc, nil
}

// storeKey reads OCRHOST_JS_ENCRYPTION_KEY_FILE ("" when unset).
func (c config) storeKey() (string, error) {
	if c.JSEncryptionKeyFile == "" {
		return "", nil
	}
	key, err := readSecretFile(c.JSEncryptionKeyFile)
	if err != nil {
		return "", fmt.Errorf("OCRHOST_JS_ENCRYPTION_KEY_FILE: %w", err)
	}
	if len(key) < minStoreKey {
		return "", fmt.Errorf("OCRHOST_JS_ENCRYPTION_KEY_FILE: the key is shorter than %d characters (e.g. openssl rand -hex 32)", minStoreKey)
	}
	return key, nil
}
