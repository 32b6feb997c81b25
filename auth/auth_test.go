package auth

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	aliceTok = "alice-0123456789abcdef"
	opsTok   = "ops-fedcba9876543210xx"
)

func write(t *testing.T, path, text string, mod time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	// Set explicitly: two writes within the file system's clock
	// granularity would otherwise look unchanged.
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

func TestTokensLookup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	write(t, path, "# comment\n\nalice "+aliceTok+"\n  ops\t"+opsTok+"  admin\n", time.Now())
	tok, err := OpenTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	for token, want := range map[string]Principal{aliceTok: {Name: "alice"}, opsTok: {Name: "ops", Admin: true}} {
		if p, ok := tok.Lookup(token); !ok || p != want {
			t.Errorf("Lookup: %+v %v, want %+v", p, ok, want)
		}
	}
	for _, wrong := range []string{"", aliceTok[:len(aliceTok)-1], aliceTok + "x", strings.ToUpper(aliceTok), "alice"} {
		if p, ok := tok.Lookup(wrong); ok {
			t.Errorf("Lookup(%q) = %+v", wrong, p)
		}
	}
	if p, ok := tok.Named("ops"); !ok || !p.Admin {
		t.Errorf("Named(ops) = %+v %v", p, ok)
	}
	if !(Principal{Name: "alice"}).Owns("alice") || (Principal{Name: "bob"}).Owns("alice") || (Principal{}).Owns("") ||
		!(Principal{Admin: true}).Owns("alice") {
		t.Error("Owns")
	}
}

func TestTokensFileErrorsNameNoToken(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"one field":    aliceTok + "\n",
		"short token":  "alice short-secret\n",
		"bad role":     "alice " + aliceTok + " root\n",
		"bad name":     "al/ice " + aliceTok + "\n",
		"same token":   "alice " + aliceTok + "\nbob " + aliceTok + "\n",
		"same name":    "alice " + aliceTok + "\nalice " + opsTok + "\n",
		"empty":        "# nobody\n",
		"four fields":  "alice " + aliceTok + " admin extra\n",
		"missing file": "",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			if name != "missing file" {
				write(t, path, text, time.Now())
			}
			_, err := OpenTokens(path)
			if !errors.Is(err, ErrTokenFile) {
				t.Fatalf("%v, want %v", err, ErrTokenFile)
			}
			for _, secret := range []string{aliceTok, opsTok, "short-secret"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error reveals a token: %v", err)
				}
			}
		})
	}
}

// TestTokensRotate rewrites the file under a host that keeps using it: the
// new token works and the old one stops, without a restart; a broken
// rewrite keeps the tokens in force and is logged without its text.
func TestTokensRotate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	t0 := time.Now().Add(-time.Hour)
	write(t, path, "alice "+aliceTok+"\n", t0)
	var logs bytes.Buffer
	tok, err := OpenTokens(path, WithPollInterval(0), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	const rotated = "alice-rotated-99999999"
	write(t, path, "alice "+rotated+"\n", t0.Add(time.Second))
	if _, ok := tok.Lookup(aliceTok); ok {
		t.Error("the old token still works after rotation")
	}
	if p, ok := tok.Lookup(rotated); !ok || p.Name != "alice" {
		t.Error("the new token does not work")
	}
	write(t, path, "alice "+aliceTok+" superuser\n", t0.Add(2*time.Second))
	if _, ok := tok.Lookup(rotated); !ok {
		t.Error("a broken file replaced the tokens in force")
	}
	if !strings.Contains(logs.String(), "unusable") || strings.Contains(logs.String(), aliceTok) || strings.Contains(logs.String(), rotated) {
		t.Errorf("log:\n%s", logs.String())
	}

	t.Run("polled at most once per interval", func(t *testing.T) {
		write(t, path, "alice "+rotated+"\n", t0.Add(3*time.Second))
		slow, err := OpenTokens(path, WithPollInterval(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		write(t, path, "alice "+aliceTok+"\n", t0.Add(4*time.Second))
		if _, ok := slow.Lookup(rotated); !ok {
			t.Error("re-read before the poll interval passed")
		}
	})
}

func TestRequire(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	write(t, path, "alice "+aliceTok+"\nops "+opsTok+" admin\n", time.Now())
	tok, err := OpenTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := FromContext(r.Context())
		w.Write([]byte(p.Name))
	})
	for _, tc := range []struct {
		name      string
		h         *HTTP
		adminOnly bool
		header    string
		status    int
		body      string
	}{
		{"no credential", NewHTTP(tok, false), false, "", 401, ""},
		{"wrong token", NewHTTP(tok, false), false, "Bearer " + opsTok + "x", 401, ""},
		{"not bearer", NewHTTP(tok, false), false, "Basic " + aliceTok, 401, ""},
		{"right token", NewHTTP(tok, false), false, "bearer " + aliceTok, 200, "alice"},
		{"not an admin", NewHTTP(tok, false), true, "Bearer " + aliceTok, 403, ""},
		{"admin", NewHTTP(tok, false), true, "Bearer " + opsTok, 200, "ops"},
		{"certificates only, a token", NewHTTP(nil, true), false, "Bearer " + aliceTok, 401, ""},
		{"open", NewHTTP(nil, false), true, "", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			tc.h.Require(echo, tc.adminOnly).ServeHTTP(rec, req)
			if rec.Code != tc.status || (tc.status == 200 && rec.Body.String() != tc.body) {
				t.Errorf("%d %q, want %d %q", rec.Code, rec.Body.String(), tc.status, tc.body)
			}
			if tc.status == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: %v", rec.Header())
			}
		})
	}
}
