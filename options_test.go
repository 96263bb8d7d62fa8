package sessions_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store/fsstore"
	"github.com/sessionkit/sessions/store/memstore"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestNewRejectsBadConfig(t *testing.T) {
	for name, opt := range map[string]sessions.Option{
		"empty cookie name":        sessions.WithCookie(sessions.CookieName("")),
		"cookie name with space":   sessions.WithCookie(sessions.CookieName("my session")),
		"cookie name with ;":       sessions.WithCookie(sessions.CookieName("a;b")),
		"cookie name with (":       sessions.WithCookie(sessions.CookieName("a(b")),
		"cookie name with DEL":     sessions.WithCookie(sessions.CookieName("a\x7fb")),
		"cookie name with Latin-1": sessions.WithCookie(sessions.CookieName("caf\xe9")),
		"cookie name with tab":     sessions.WithCookie(sessions.CookieName("a\tb")),
		"cookie over 4096 bytes":   sessions.WithCookie(sessions.CookieName(strings.Repeat("n", 4096-43))),
		"__Host- without Secure":   sessions.WithCookie(sessions.CookieName("__Host-s")),
		"__Host- with path":        sessions.WithCookie(sessions.CookieName("__Host-s"), sessions.CookieSecure(true), sessions.CookiePath("/app")),
		"__Host- with domain":      sessions.WithCookie(sessions.CookieName("__Host-s"), sessions.CookieSecure(true), sessions.CookieDomain("example.com")),
		"__Secure- without Secure": sessions.WithCookie(sessions.CookieName("__Secure-s")),
		"SameSite=None insecure":   sessions.WithCookie(sessions.CookieSameSite(http.SameSiteNoneMode)),
		"Partitioned insecure":     sessions.WithCookie(sessions.CookiePartitioned(true)),
		"relative path":            sessions.WithCookie(sessions.CookiePath("app")),
		"path with ;":              sessions.WithCookie(sessions.CookiePath("/a;b")),
		"zero lifetime":            sessions.WithLifetime(0),
		"negative lifetime":        sessions.WithLifetime(-time.Hour),
		"negative idle":            sessions.WithIdleTimeout(-time.Second),
		"nil codec":                sessions.WithCodec(nil),
		"nil store":                sessions.WithStore(nil),
		"prefix with space":        sessions.WithKeyPrefix("a b"),
		"prefix with DEL":          sessions.WithKeyPrefix("a\x7fb"),
	} {
		m, err := sessions.New[profile](opt)
		if !errors.Is(err, sessions.ErrInvalidConfig) {
			t.Errorf("%s: New = %v, want ErrInvalidConfig", name, err)
		}
		if m != nil {
			m.Close()
		}
	}
}

func TestNewAcceptsGoodConfig(t *testing.T) {
	st, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := sessions.New[profile](
		sessions.WithManagedStore(st),
		sessions.WithLifetime(time.Hour),
		sessions.WithIdleTimeout(10*time.Minute),
		sessions.WithCodec(sessions.JSON()),
		sessions.WithCookie(sessions.CookieName("__Host-sid"), sessions.CookieSecure(true),
			sessions.CookieSameSite(http.SameSiteStrictMode), sessions.CookiePartitioned(true)),
		sessions.WithKeyPrefix("shop:"),
		sessions.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// The cookie attributes RFC 6265 allows are accepted: a path may hold a
// space (only control characters and ';' are out), a name may hold any
// other printable ASCII character.
func TestNewAcceptsEdgeCookieAttributes(t *testing.T) {
	for name, opt := range map[string]sessions.CookieOption{
		"path with a space": sessions.CookiePath("/my app"),
		"name with ! and ~": sessions.CookieName("!sid~"),
		"name with ' and *": sessions.CookieName("s'id*"),
	} {
		m, err := sessions.New[profile](sessions.WithCookie(opt))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		m.Close()
	}
}

func TestUnencodableTypeIsAConfigError(t *testing.T) {
	_, err := sessions.New[struct{ C chan int }]()
	if !errors.Is(err, sessions.ErrInvalidConfig) {
		t.Errorf("New with a channel field = %v", err)
	}
}

// The limits of the options, at their boundaries: a record limit must
// leave room for a header (28 bytes), a key prefix is at most 64 bytes.
func TestOptionBoundaries(t *testing.T) {
	for _, c := range []struct {
		name string
		opt  sessions.Option
		ok   bool
	}{
		{"cookie name of 4052 bytes", sessions.WithCookie(sessions.CookieName(strings.Repeat("n", 4052))), true},
		{"cookie name of 4053 bytes", sessions.WithCookie(sessions.CookieName(strings.Repeat("n", 4053))), false},
		{"max size 44", sessions.WithMaxSize(44), false},
		{"max size 45", sessions.WithMaxSize(45), true},
		{"prefix of 64", sessions.WithKeyPrefix(strings.Repeat("p", 64)), true},
		{"prefix of 65", sessions.WithKeyPrefix(strings.Repeat("p", 65)), false},
	} {
		m, err := sessions.New[profile](c.opt)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, sessions.ErrInvalidConfig) {
			t.Errorf("%s: New = %v, want ok %v", c.name, err, c.ok)
		}
		if m != nil {
			m.Close()
		}
	}
}

// A nil Option, a nil CookieOption and a nil logger follow the rule of
// every options list in the module: nil options are ignored and a nil
// logger means slog.Default().
func TestNilOptionsAndLoggerAreDefaults(t *testing.T) {
	m, err := sessions.New[profile](nil,
		sessions.WithCookie(nil, sessions.CookieName("sid"), nil),
		sessions.WithLogger(nil),
		sessions.WithMemory(nil, memstore.WithLogger(nil)),
		nil)
	if err != nil {
		t.Fatalf("New with nil options and loggers: %v", err)
	}
	m.Close()
	st, err := fsstore.New(t.TempDir(), nil, fsstore.WithLogger(nil))
	if err != nil {
		t.Fatalf("fsstore.New with a nil option and logger: %v", err)
	}
	st.Close()
}
