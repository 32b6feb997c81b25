package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/nats-io/nkeys"

	"github.com/ocrhost/ocrhost/events/jobs"
	"github.com/ocrhost/ocrhost/internal/natsd"
)

// natsUser is one line of OCRHOST_NATS_USERS_FILE: a NATS principal. A
// tenant (not admin) may OCR and queue, query and cancel its own jobs, and
// nothing else; an admin may do everything the host does.
type natsUser struct {
	name string
	// secret is a password (plain or bcrypt) or a public user nkey.
	secret string
	admin  bool
}

// tenantName keeps a name one NATS subject token: a tenant's subjects end
// in it.
var tenantName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// minNATSPassword is the shortest password accepted in the users file, as
// for HTTP tokens; a bcrypt hash is accepted as it is.
const minNATSPassword = 16

// readNATSUsers parses the users file: one "<name> <password or public
// nkey> [admin]" per line, # comments. Its errors name lines, never their
// text.
func readNATSUsers(path string) ([]natsUser, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: OCRHOST_NATS_USERS_FILE: %w", ErrNATSSecurity, err)
	}
	defer clear(data)
	var users []natsUser
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		bad := func(why string) error {
			return fmt.Errorf("%w: OCRHOST_NATS_USERS_FILE %s line %d: %s", ErrNATSSecurity, path, n, why)
		}
		f := strings.Fields(line)
		switch {
		case len(f) < 2 || len(f) > 3 || (len(f) == 3 && f[2] != "admin"):
			return nil, bad("want <name> <password or public nkey> [admin]")
		case !tenantName.MatchString(f[0]):
			return nil, bad("a name is 1 to 64 letters, digits, _ or -, starting with a letter or digit")
		case seen[f[0]]:
			return nil, bad("name listed twice")
		case looksLikeNKey(f[1]) && !nkeys.IsValidPublicUserKey(f[1]):
			return nil, bad("not a valid public user nkey")
		case !looksLikeNKey(f[1]) && !strings.HasPrefix(f[1], "$2") && len(f[1]) < minNATSPassword:
			return nil, bad(fmt.Sprintf("password shorter than %d characters", minNATSPassword))
		}
		seen[f[0]] = true
		users = append(users, natsUser{name: f[0], secret: f[1], admin: len(f) == 3})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: OCRHOST_NATS_USERS_FILE %s: %w", ErrNATSSecurity, path, err)
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("%w: OCRHOST_NATS_USERS_FILE %s: no user", ErrNATSSecurity, path)
	}
	return users, nil
}

// looksLikeNKey: a public user nkey is 56 characters from U.
func looksLikeNKey(s string) bool { return len(s) == 56 && s[0] == 'U' }

// tenants names the users that are not admins.
func tenants(users []natsUser) []string {
	var names []string
	for _, u := range users {
		if !u.admin {
			names = append(names, u.name)
		}
	}
	return names
}

// serverUsers are the users the embedded server admits. A tenant may
// publish OCR requests, its own jobs (on the job prefix followed by its
// name), and task queries and cancels on the subjects that end in its
// name; it may subscribe to its own inbox prefix only (_INBOX.<name>, see
// nats.CustomInboxPrefix), so that no other reply, result or bucket is
// within its reach. The host takes a job's and a query's principal from
// these subjects (jobs.WithTenants, TaskStore.ServeNATS).
func serverUsers(users []natsUser, requestSubject string) []natsd.User {
	prefix := strings.TrimSuffix(jobs.DefaultJobSubjects, ">")
	var out []natsd.User
	for _, u := range users {
		su := natsd.User{Name: u.name, Password: u.secret}
		if nkeys.IsValidPublicUserKey(u.secret) {
			su = natsd.User{NKey: u.secret}
		}
		if !u.admin {
			su.Publish = []string{requestSubject, prefix + u.name, prefix + u.name + ".>",
				jobs.DefaultTaskQuerySubject + "." + u.name, jobs.DefaultCancelSubject + "." + u.name}
			su.Subscribe = []string{tenantInbox(u.name) + ".>"}
		}
		out = append(out, su)
	}
	return out
}

// tenantInbox is the inbox prefix a tenant's client must use
// (nats.CustomInboxPrefix).
func tenantInbox(name string) string { return "_INBOX." + name }
