package sessions

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// cookieConfig describes the session cookie.
type cookieConfig struct {
	name        string
	domain      string
	path        string
	secure      bool
	httpOnly    bool
	partitioned bool
	persistent  bool
	sameSite    http.SameSite
}

func defaultCookie() cookieConfig {
	return cookieConfig{
		name:       "session",
		path:       "/",
		httpOnly:   true,
		persistent: true,
		sameSite:   http.SameSiteLaxMode,
	}
}

// A CookieOption changes one attribute of the session cookie; pass it to
// [WithCookie].
type CookieOption func(*cookieConfig)

// CookieName sets the cookie name (default "session"). A name starting with
// "__Host-" requires [CookieSecure](true), path "/" and no domain; one starting
// with "__Secure-" requires CookieSecure(true). The name and the 43-byte
// token must fit the 4096 bytes browsers keep.
func CookieName(name string) CookieOption { return func(c *cookieConfig) { c.name = name } }

// CookieDomain sets the Domain attribute (default none: host-only).
func CookieDomain(domain string) CookieOption { return func(c *cookieConfig) { c.domain = domain } }

// CookiePath sets the Path attribute (default "/").
func CookiePath(path string) CookieOption { return func(c *cookieConfig) { c.path = path } }

// CookieSecure sets the Secure attribute (default false, so that plain-HTTP
// development works; turn it on in production).
func CookieSecure(secure bool) CookieOption { return func(c *cookieConfig) { c.secure = secure } }

// CookieHTTPOnly sets the HttpOnly attribute (default true).
func CookieHTTPOnly(httpOnly bool) CookieOption {
	return func(c *cookieConfig) { c.httpOnly = httpOnly }
}

// CookieSameSite sets the SameSite attribute (default [http.SameSiteLaxMode]).
// [http.SameSiteNoneMode] requires [CookieSecure](true).
func CookieSameSite(mode http.SameSite) CookieOption {
	return func(c *cookieConfig) { c.sameSite = mode }
}

// CookiePartitioned sets the Partitioned attribute (CHIPS); it requires
// [CookieSecure](true).
func CookiePartitioned(partitioned bool) CookieOption {
	return func(c *cookieConfig) { c.partitioned = partitioned }
}

// CookiePersistent chooses the default kind of cookie for new sessions:
// persistent (true, the default: the cookie expires with the session's
// lifetime) or a browser-session cookie (false: the browser drops it when
// it closes). [Manager.SetPersistent] overrides it per session.
func CookiePersistent(persistent bool) CookieOption {
	return func(c *cookieConfig) { c.persistent = persistent }
}

// validate reports a configuration browsers would reject or silently drop.
func (c cookieConfig) validate() error {
	switch {
	case !validCookieName(c.name):
		return fmt.Errorf("%w: invalid cookie name %q", ErrInvalidConfig, c.name)
	case len(c.name)+1+tokenLen > maxCookieNameValue:
		return fmt.Errorf("%w: a cookie name of %d bytes and a token go over the %d bytes browsers keep", ErrInvalidConfig, len(c.name), maxCookieNameValue)
	case !strings.HasPrefix(c.path, "/") || strings.ContainsAny(c.path, ";\x7f") || hasControl(c.path):
		return fmt.Errorf("%w: cookie path %q must start with / and hold no ';' or control characters", ErrInvalidConfig, c.path)
	case strings.ContainsAny(c.domain, "; \x7f") || hasControl(c.domain):
		return fmt.Errorf("%w: invalid cookie domain %q", ErrInvalidConfig, c.domain)
	case strings.HasPrefix(c.name, "__Host-") && (!c.secure || c.path != "/" || c.domain != ""):
		return fmt.Errorf("%w: cookie name %q needs Secure, path \"/\" and no domain", ErrInvalidConfig, c.name)
	case strings.HasPrefix(c.name, "__Secure-") && !c.secure:
		return fmt.Errorf("%w: cookie name %q needs Secure", ErrInvalidConfig, c.name)
	case c.sameSite == http.SameSiteNoneMode && !c.secure:
		return fmt.Errorf("%w: SameSite=None needs Secure", ErrInvalidConfig)
	case c.partitioned && !c.secure:
		return fmt.Errorf("%w: Partitioned needs Secure", ErrInvalidConfig)
	}
	return nil
}

// maxCookieNameValue is the most a cookie's name and value may hold
// together for every browser to keep it (RFC 6265 section 6.1; OWASP
// ASVS 3.3.5).
const maxCookieNameValue = 4096

// validCookieName reports whether name is an RFC 6265 token.
func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for i := range len(name) {
		b := name[i]
		if b <= ' ' || b >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, b) >= 0 {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	for i := range len(s) {
		if s[i] < ' ' {
			return true
		}
	}
	return false
}

// cookie builds the Set-Cookie value for token. A persistent cookie expires
// at deadline; an empty token builds a cookie that deletes the session
// cookie.
func (c cookieConfig) cookie(token string, persistent bool, deadline, now time.Time) *http.Cookie {
	ck := &http.Cookie{
		Name:        c.name,
		Value:       token,
		Path:        c.path,
		Domain:      c.domain,
		Secure:      c.secure,
		HttpOnly:    c.httpOnly,
		SameSite:    c.sameSite,
		Partitioned: c.partitioned,
	}
	switch {
	case token == "":
		ck.MaxAge = -1
		ck.Expires = time.Unix(1, 0)
	case persistent:
		// Browsers keep a cookie at most 400 days (RFC 6265bis); so do we,
		// which also keeps a lifetime of math.MaxInt64 printable.
		if limit := now.Add(maxCookieAge); deadline.After(limit) {
			deadline = limit
		}
		ck.Expires = deadline.UTC()
		ck.MaxAge = max(int(deadline.Sub(now).Round(time.Second)/time.Second), 1)
	}
	return ck
}

// maxCookieAge is the longest lifetime browsers give a cookie.
const maxCookieAge = 400 * 24 * time.Hour

// appendTokens appends to dst the values of the cookies named name that
// are well-formed tokens, in order, up to maxPresentedTokens in all. A
// browser sends several cookies of one name when they differ in Domain or
// Path, for example one planted from a sibling subdomain. It scans the
// Cookie headers without building http.Cookie values, so a request
// carrying no session costs nothing.
func appendTokens(dst []string, r *http.Request, name string) []string {
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 && len(dst) < maxPresentedTokens {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			if len(part) == len(name)+1+tokenLen && part[len(name)] == '=' && part[:len(name)] == name {
				if v := part[len(name)+1:]; validToken(v) {
					dst = append(dst, v)
				}
			}
		}
	}
	return dst
}
