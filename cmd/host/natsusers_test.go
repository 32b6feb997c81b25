package main

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"
)

// TestReadNATSUsers reads a users file, and refuses each malformed line
// with an error that names the line but never its text.
func TestReadNATSUsers(t *testing.T) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "users")
	writeFile(t, good, "# tenants\nalice "+aliceNATS+"\nbob-2 "+pub+"\n\nops $2a$11$abcdefghijklmnopqrstuv admin\n")
	users, err := readNATSUsers(good)
	if err != nil {
		t.Fatal(err)
	}
	if got := tenants(users); !slices.Equal(got, []string{"alice", "bob-2"}) {
		t.Errorf("tenants %v", got)
	}
	server := serverUsers(users, "ocr.requests")
	if server[0].Name != "alice" || server[0].Password != aliceNATS || !slices.Contains(server[0].Publish, "ocr.jobs.alice.>") ||
		!slices.Equal(server[0].Subscribe, []string{"_INBOX.alice.>"}) {
		t.Errorf("alice: %+v", server[0])
	}
	if server[1].NKey != pub || server[1].Name != "" || !slices.Contains(server[1].Publish, "ocr.tasks.get.bob-2") {
		t.Errorf("bob-2 (nkey): %+v", server[1])
	}
	if server[2].Publish != nil || server[2].Subscribe != nil {
		t.Errorf("an admin is limited: %+v", server[2])
	}

	const secret = "Secret-Kq8Wm3Zx7Lp2"
	for name, text := range map[string]string{
		"no secret":      "alice\n",
		"dotted name":    "al.ice " + secret + "\n",
		"short password": "alice Short-1\n",
		"bad nkey":       "alice U" + strings.Repeat("A", 55) + "\n",
		"twice":          "alice " + secret + "\nalice " + secret + "x\n",
		"bad role":       "alice " + secret + " root\n",
		"empty":          "# nobody\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			writeFile(t, path, text)
			_, err := readNATSUsers(path)
			if !errors.Is(err, ErrNATSSecurity) {
				t.Fatalf("%v, want %v", err, ErrNATSSecurity)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "Short-1") {
				t.Errorf("the error quotes the file: %v", err)
			}
		})
	}
}
