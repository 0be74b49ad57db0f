package server

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strings"
)

// Credentials is the set of users (HTTP basic authentication) and API keys
// (`Authorization: ApiKey base64(id:key)`) the server accepts. Secrets are kept only as
// SHA-256 digests and compared in constant time.
//
// The text form, one credential per line, blank lines and lines starting with # ignored:
//
//	user:password          a user for basic authentication (the password may contain ':')
//	apikey ID:KEY          an API key, as Elasticsearch's create-API-key answer gives id and api_key
//	apikey ENCODED         the same, as its "encoded" value: base64 of ID:KEY
//	token NAME:TOKEN       a bearer token (`Authorization: Bearer TOKEN`), as a kubeconfig's
//	                       user token sends it (the kube-apiserver's audit webhook); NAME
//	                       only names it in logs
type Credentials struct {
	users   map[string][sha256.Size]byte
	apiKeys map[string][sha256.Size]byte
	tokens  map[[sha256.Size]byte]string // digest of the token: its name
}

// LoadCredentials reads credentials from a file. The file must not be readable by group or
// others (chmod 600), since it holds passwords.
func LoadCredentials(path string) (*Credentials, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	if st.Mode().Perm()&0o044 != 0 {
		return nil, fmt.Errorf("credentials: %s is readable by group or others (mode %#o); it holds passwords: chmod 600 it", path, st.Mode().Perm())
	}
	return ParseCredentials(f, path)
}

// ParseCredentials reads credentials in the text form described at Credentials; source
// names the input in errors (a file name, or the environment variable's name).
func ParseCredentials(r io.Reader, source string) (*Credentials, error) {
	c := &Credentials{users: map[string][sha256.Size]byte{}, apiKeys: map[string][sha256.Size]byte{},
		tokens: map[[sha256.Size]byte]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "apikey "); ok {
			rest = strings.TrimSpace(rest)
			if !strings.Contains(rest, ":") {
				dec, err := base64.StdEncoding.DecodeString(rest)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: apikey: %q is neither ID:KEY nor base64 of it", source, n, rest)
				}
				rest = string(dec)
			}
			id, key, ok := strings.Cut(rest, ":")
			if !ok || id == "" || key == "" {
				return nil, fmt.Errorf("%s:%d: apikey: want ID:KEY with both parts non-empty", source, n)
			}
			if _, dup := c.apiKeys[id]; dup {
				return nil, fmt.Errorf("%s:%d: API key id %q defined twice", source, n, id)
			}
			c.apiKeys[id] = sha256.Sum256([]byte(key))
			continue
		}
		if rest, ok := strings.CutPrefix(line, "token "); ok {
			name, tok, ok := strings.Cut(strings.TrimSpace(rest), ":")
			if !ok || name == "" || tok == "" {
				return nil, fmt.Errorf("%s:%d: token: want NAME:TOKEN with both parts non-empty", source, n)
			}
			d := sha256.Sum256([]byte(tok))
			if _, dup := c.tokens[d]; dup {
				return nil, fmt.Errorf("%s:%d: token %q has the same secret as another token", source, n, name)
			}
			c.tokens[d] = name
			continue
		}
		user, pass, ok := strings.Cut(line, ":")
		if !ok || user == "" || pass == "" {
			return nil, fmt.Errorf("%s:%d: want user:password (or apikey ID:KEY), both parts non-empty", source, n)
		}
		if _, dup := c.users[user]; dup {
			return nil, fmt.Errorf("%s:%d: user %q defined twice", source, n, user)
		}
		c.users[user] = sha256.Sum256([]byte(pass))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	if c.count() == 0 {
		return nil, fmt.Errorf("%s: no credentials defined", source)
	}
	return c, nil
}

// count returns the number of users, API keys and tokens.
func (c *Credentials) count() int { return len(c.users) + len(c.apiKeys) + len(c.tokens) }

// authResult is the outcome of checking a request's Authorization header.
type authResult struct {
	principal string // user name, or "apikey:<id>"
	reason    string // why it was refused, in Elasticsearch's words ("" when accepted)
	missing   bool   // no credentials at all
}

// check verifies an Authorization header value. uri is the request URI for messages.
func (c *Credentials) check(header, uri string) authResult {
	if header == "" {
		return authResult{missing: true, reason: "missing authentication credentials for REST request [" + uri + "]"}
	}
	scheme, param, _ := strings.Cut(header, " ")
	param = strings.TrimSpace(param)
	refused := authResult{reason: "unable to authenticate with provided credentials and anonymous access is not allowed for this request"}
	switch {
	case strings.EqualFold(scheme, "Basic"):
		dec, err := base64.StdEncoding.DecodeString(param)
		if err != nil {
			return refused
		}
		user, pass, ok := bytes.Cut(dec, []byte{':'})
		if !ok {
			return refused
		}
		name := string(user)
		if !c.match(c.users, name, pass) {
			return authResult{reason: "unable to authenticate user [" + name + "] for REST request [" + uri + "]"}
		}
		return authResult{principal: name}
	case strings.EqualFold(scheme, "ApiKey"):
		dec, err := base64.StdEncoding.DecodeString(param)
		if err != nil {
			return refused
		}
		id, key, ok := bytes.Cut(dec, []byte{':'})
		if !ok || !c.match(c.apiKeys, string(id), key) {
			return refused
		}
		return authResult{principal: "apikey:" + string(id)}
	case strings.EqualFold(scheme, "Bearer"):
		// Looked up by digest: a map lookup of a hash reveals nothing usable about the token.
		if name, ok := c.tokens[sha256.Sum256([]byte(param))]; ok && param != "" {
			return authResult{principal: "token:" + name}
		}
		return refused
	}
	return refused
}

// match compares a secret with the stored digest in constant time; an unknown name is
// compared against a digest of nothing so its timing looks the same.
func (c *Credentials) match(m map[string][sha256.Size]byte, name string, secret []byte) bool {
	want, known := m[name]
	got := sha256.Sum256(secret)
	eq := subtle.ConstantTimeCompare(want[:], got[:]) == 1
	return known && eq
}
