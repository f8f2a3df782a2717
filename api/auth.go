package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/connectd/connectd/framework/herder"
)

// Role is what an authenticated caller may do.
type Role int

const (
	// RoleReadOnly may read: GET and HEAD requests.
	RoleReadOnly Role = iota + 1
	// RoleAdmin may do everything.
	RoleAdmin
)

func parseRole(s string) (Role, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "admin":
		return RoleAdmin, true
	case "read-only", "readonly":
		return RoleReadOnly, true
	}
	return 0, false
}

func (r Role) String() string {
	if r == RoleAdmin {
		return "admin"
	}
	return "read-only"
}

// Authenticator checks the credentials of REST requests: HTTP basic auth
// against a file of users with bcrypt-hashed passwords, and bearer tokens
// against a file of SHA-256 hashes of the tokens. Either file may be
// empty (that scheme is then off). The files are read again when they
// change, at most once a second, so users and tokens can be rotated
// without a restart. An Authenticator is safe for concurrent use.
//
// Users file, one user a line (htpasswd's bcrypt lines, with an optional
// role; # starts a comment):
//
//	alice:$2y$10$...            admin (the default)
//	grafana:$2y$10$...:read-only
//
// Tokens file, one token a line: a name, the token's SHA-256 in hex, and
// an optional role:
//
//	ci:5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8:admin
//
// Neither file ever holds a password or a token in plain text; `connectd
// hash-password` makes the lines.
type Authenticator struct {
	usersFile, tokensFile string

	mu      sync.Mutex
	checked time.Time // when the files were last looked at
	stamp   [2]time.Time
	users   map[string]user
	tokens  map[[32]byte]token
	// verified caches each user's last password checked against bcrypt
	// (its SHA-256), so that a client sending the same credentials on
	// every request pays bcrypt's cost once.
	verified map[string][32]byte
}

type user struct {
	hash []byte
	role Role
}

type token struct {
	name string
	role Role
}

// NewAuthenticator reads the users file and the tokens file (either may
// be ""). A line that is not a bcrypt hash (a plain-text password) is an
// error naming the file and line.
func NewAuthenticator(usersFile, tokensFile string) (*Authenticator, error) {
	if usersFile == "" && tokensFile == "" {
		return nil, errors.New("rest auth: neither a users file nor a tokens file")
	}
	a := &Authenticator{usersFile: usersFile, tokensFile: tokensFile}
	if err := a.load(); err != nil {
		return nil, err
	}
	return a, nil
}

// load reads both files.
func (a *Authenticator) load() error {
	users, err := readUsers(a.usersFile)
	if err != nil {
		return err
	}
	tokens, err := readTokens(a.tokensFile)
	if err != nil {
		return err
	}
	a.users, a.tokens, a.verified = users, tokens, map[string][32]byte{}
	a.stamp = [2]time.Time{modTime(a.usersFile), modTime(a.tokensFile)}
	a.checked = time.Now()
	return nil
}

func modTime(path string) time.Time {
	if path == "" {
		return time.Time{}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// refresh reads the files again if they changed; a file that became
// unreadable or wrong keeps the credentials read before (and err says why).
func (a *Authenticator) refresh() error {
	if time.Since(a.checked) < time.Second {
		return nil
	}
	a.checked = time.Now()
	if [2]time.Time{modTime(a.usersFile), modTime(a.tokensFile)} == a.stamp {
		return nil
	}
	return a.load()
}

func readLines(path string, each func(n int, line string) error) error {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("rest auth: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := each(n, line); err != nil {
			return fmt.Errorf("rest auth: %s line %d: %w", path, n, err)
		}
	}
	return nil
}

func readUsers(path string) (map[string]user, error) {
	out := map[string]user{}
	err := readLines(path, func(_ int, line string) error {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			return errors.New("expected name:bcrypt-hash[:role]")
		}
		hash, roleName, hasRole := strings.Cut(rest, ":")
		role := RoleAdmin
		if hasRole {
			var ok bool
			if role, ok = parseRole(roleName); !ok {
				return fmt.Errorf("user %s: role %q is not admin or read-only", name, roleName)
			}
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return fmt.Errorf("user %s: the password is not a bcrypt hash (plain-text passwords are refused; make the line with `connectd hash-password %s`)", name, name)
		}
		if _, dup := out[name]; dup {
			return fmt.Errorf("user %s appears twice", name)
		}
		out[name] = user{hash: []byte(hash), role: role}
		return nil
	})
	return out, err
}

func readTokens(path string) (map[[32]byte]token, error) {
	out := map[[32]byte]token{}
	err := readLines(path, func(_ int, line string) error {
		parts := strings.Split(line, ":")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
			return errors.New("expected name:sha256-hex[:role]")
		}
		sum, err := hex.DecodeString(parts[1])
		if err != nil || len(sum) != sha256.Size {
			return fmt.Errorf("token %s: %q is not a SHA-256 in hex (tokens are never stored in plain text; make the line with `connectd hash-password --token %s`)", parts[0], shorten(parts[1]), parts[0])
		}
		role := RoleAdmin
		if len(parts) == 3 {
			var ok bool
			if role, ok = parseRole(parts[2]); !ok {
				return fmt.Errorf("token %s: role %q is not admin or read-only", parts[0], parts[2])
			}
		}
		out[[32]byte(sum)] = token{name: parts[0], role: role}
		return nil
	})
	return out, err
}

func shorten(s string) string {
	if len(s) > 8 {
		return s[:4] + "…"
	}
	return s
}

// hashCost is the bcrypt cost of the hashes HashPassword makes; tests
// lower it.
var hashCost = bcrypt.DefaultCost

// dummyHash returns a hash to compare against when a user is unknown, of
// the cost of the users' own hashes, so that an unknown user takes as long
// to refuse as a wrong password.
func dummyHash(users map[string]user) []byte {
	cost := bcrypt.DefaultCost
	for _, u := range users {
		if c, err := bcrypt.Cost(u.hash); err == nil {
			cost = c
		}
		break
	}
	dummyMu.Lock()
	defer dummyMu.Unlock()
	if dummies[cost] == nil {
		dummies[cost], _ = bcrypt.GenerateFromPassword([]byte("connectd"), cost)
	}
	return dummies[cost]
}

var (
	dummyMu sync.Mutex
	dummies = map[int][]byte{}
)

// Authenticate returns the caller's name and role from an Authorization
// header value, or ok false.
func (a *Authenticator) Authenticate(header string) (name string, role Role, ok bool, reloadErr error) {
	scheme, cred, _ := strings.Cut(strings.TrimSpace(header), " ")
	cred = strings.TrimSpace(cred)
	a.mu.Lock()
	reloadErr = a.refresh()
	users, tokens := a.users, a.tokens
	a.mu.Unlock()
	switch strings.ToLower(scheme) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return "", 0, false, reloadErr
		}
		name, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return "", 0, false, reloadErr
		}
		u, known := users[name]
		sum := sha256.Sum256([]byte(pass))
		if known {
			a.mu.Lock()
			v, seen := a.verified[name]
			a.mu.Unlock()
			if seen && subtle.ConstantTimeCompare(v[:], sum[:]) == 1 {
				return name, u.role, true, reloadErr
			}
		}
		var hash []byte
		if !known {
			hash = dummyHash(users)
		} else {
			hash = u.hash
		}
		if bcrypt.CompareHashAndPassword(hash, []byte(pass)) != nil || !known {
			return "", 0, false, reloadErr
		}
		a.mu.Lock()
		if a.verified != nil {
			a.verified[name] = sum
		}
		a.mu.Unlock()
		return name, u.role, true, reloadErr
	case "bearer":
		sum := sha256.Sum256([]byte(cred))
		if t, ok := tokens[sum]; ok && cred != "" {
			return t.name, t.role, true, reloadErr
		}
	}
	return "", 0, false, reloadErr
}

// HashPassword returns a users-file line for name with password's bcrypt
// hash and role.
func HashPassword(name, password string, role Role) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), hashCost)
	if err != nil {
		return "", fmt.Errorf("rest auth: %w", err)
	}
	return fmt.Sprintf("%s:%s:%s", name, h, role), nil
}

// HashToken returns a tokens-file line for a token named name.
func HashToken(name, tok string, role Role) string {
	sum := sha256.Sum256([]byte(tok))
	return fmt.Sprintf("%s:%s:%s", name, hex.EncodeToString(sum[:]), role)
}

// Messages of the authentication answers. A refusal says nothing about
// why (unknown user, wrong password, expired token look the same).
const (
	msgUnauthorized = "Unauthorized"
	msgForbidden    = "Forbidden: this user's role (read-only) may not change anything"
)

// callerKey carries the caller's Authorization header in a request's
// context, so that a request this worker forwards to another carries the
// caller's own credentials.
type callerKey struct{}

// WithAuthorization returns ctx carrying an Authorization header value
// that Client requests made with it send.
func WithAuthorization(ctx context.Context, v string) context.Context {
	return context.WithValue(ctx, callerKey{}, v)
}

func authorizationFrom(ctx context.Context) string {
	v, _ := ctx.Value(callerKey{}).(string)
	return v
}

// openPaths answer without credentials: liveness and readiness probes,
// which say only whether the worker is up.
var openPaths = map[string]bool{"/healthz": true, "/readyz": true, "/health": true}

// signedInternal reports whether r is a worker's signed internal request
// (task configs to the leader, zombie fencing): those carry the cluster's
// session-key signature instead of a user's credentials, and the herder
// checks it (403 when wrong), as Kafka Connect's basic auth filter lets
// them through to be checked there.
func signedInternal(r *http.Request) bool {
	if r.Header.Get(herder.SignatureHeader) == "" {
		return false
	}
	p := requestPath(r)
	return r.Method == http.MethodPost && strings.HasPrefix(p, "/connectors/") && strings.HasSuffix(p, "/tasks") ||
		r.Method == http.MethodPut && strings.HasPrefix(p, "/connectors/") && strings.HasSuffix(p, "/fence")
}

// authenticate refuses requests without valid credentials (401, with no
// reason given) and writes by read-only callers (403). CORS preflights
// are answered before it (browsers send them without credentials).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if openPaths[requestPath(r)] || signedInternal(r) {
			next.ServeHTTP(w, r)
			return
		}
		header := r.Header.Get("Authorization")
		name, role, ok, reloadErr := s.auth.Authenticate(header)
		if reloadErr != nil {
			s.log.WarnContext(r.Context(), "rest credentials files could not be read again; the ones read before still apply", "error", reloadErr)
		}
		if !ok {
			s.log.InfoContext(r.Context(), "rest request refused: no valid credentials", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Basic realm="connectd", charset="UTF-8"`)
			w.Header().Add("WWW-Authenticate", `Bearer realm="connectd"`)
			writeJSON(w, http.StatusUnauthorized, &APIError{Code: http.StatusUnauthorized, Message: msgUnauthorized})
			return
		}
		if role != RoleAdmin && r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.log.InfoContext(r.Context(), "rest request refused: read-only user", "user", name, "method", r.Method, "path", r.URL.Path)
			writeJSON(w, http.StatusForbidden, &APIError{Code: http.StatusForbidden, Message: msgForbidden})
			return
		}
		next.ServeHTTP(w, r.WithContext(WithAuthorization(r.Context(), header)))
	})
}
