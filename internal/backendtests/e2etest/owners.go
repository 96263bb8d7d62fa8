package e2etest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
)

// owner is an owner string as applications may have them: 1 KB with ':',
// '/', non-ASCII and invalid UTF-8 bytes.
var owner = strings.Repeat("ü:/", 256) + "\x00\xff end"

// owners runs the scenarios of sessions bound to an owner (SetOwner at
// login): listing them, revoking one, all or the others, a revocation
// racing a modify, logins racing a limit, an index that stays small, the
// token transport, and RevokeAll with modifies in flight. It
// logs one line with the numbers.
func owners(t *testing.T, newStore func(t *testing.T) store.Store) {
	var line []string
	t.Run("list and revoke", func(t *testing.T) { line = append(line, ownerListRevoke(t, newStore(t))) })
	t.Run("revoke others", func(t *testing.T) { line = append(line, ownerRevokeOthers(t, newStore(t))) })
	t.Run("revoke racing a modify", func(t *testing.T) { line = append(line, ownerRevokeRace(t, newStore(t))) })
	t.Run("logins racing RevokeOwner", func(t *testing.T) { line = append(line, ownerLoginRace(t, newStore(t))) })
	t.Run("logins racing a full limit", func(t *testing.T) { line = append(line, ownerLimitRace(t, newStore(t))) })
	t.Run("index stays small", func(t *testing.T) { line = append(line, ownerIndexSmall(t, newStore(t))) })
	t.Run("token transport", func(t *testing.T) { line = append(line, ownerTransport(t, newStore(t))) })
	t.Run("revoke all", func(t *testing.T) { line = append(line, revokeAll(t, newStore(t))) })
	t.Logf("owners: %s", strings.Join(line, "; "))
}

// login binds the request's session to user as a login handler does:
// Renew (against session fixation), then SetOwner.
func login(ctx context.Context, m *sessions.Manager[data], user string) error {
	if err := m.Renew(ctx); err != nil {
		return err
	}
	return m.SetOwner(ctx, user)
}

// ownerApp serves a tiny application with a login, a "your devices" page
// and the owner API; loaded and release let a test hold a modify in
// flight (GET /slow).
func ownerApp(t *testing.T, m *sessions.Manager[data]) (a *app, loaded chan struct{}, release chan chan struct{}) {
	loaded, release = make(chan struct{}), make(chan chan struct{}, 1)
	a = serve(t, m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		q := r.URL.Query()
		var err error
		switch r.URL.Path {
		case "/login":
			m.Get(ctx).Name = "user"
			err = login(ctx, m, q.Get("user"))
		case "/whoami": // the session's ID and name
			d := m.Get(ctx)
			id, _ := m.ID(ctx) // a failed load: Get reported it
			fmt.Fprintf(w, "%s %s", id, d.Name)
		case "/visit":
			m.Get(ctx).Count++
		case "/slow": // a modify held in flight
			d := m.Get(ctx)
			rel := <-release
			loaded <- struct{}{}
			select {
			case <-rel:
			case <-time.After(10 * time.Second):
				t.Error("slow request: never released")
			}
			if q.Get("update") != "" {
				err = m.Update(ctx, func(d *data) error { d.Count++; return nil })
				if errors.Is(err, sessions.ErrSessionChanged) {
					err = nil // the session was revoked: expected
				}
			} else {
				d.Count++
			}
		case "/logout":
			err = m.Destroy(ctx)
		case "/sessions": // one line per session: ID, current, data and times sane
			var list []sessions.Info[data]
			if list, err = m.Sessions(ctx, q.Get("user")); err == nil {
				for _, info := range list {
					sane := info.Data.Name == "user" && !info.Created.IsZero() && info.Expires.After(time.Now())
					fmt.Fprintf(w, "%s %t %t\n", info.ID, info.Current, sane)
				}
			}
		case "/revoke":
			err = m.Revoke(ctx, q.Get("id"))
		case "/revokeowner":
			var n int
			if n, err = m.RevokeOwner(ctx, q.Get("user")); err == nil {
				fmt.Fprint(w, n)
			}
		case "/others":
			var n int
			if n, err = m.RevokeOthers(ctx); err == nil {
				fmt.Fprint(w, n)
			}
		case "/revokeall":
			var n int
			if n, err = m.RevokeAll(ctx); err == nil {
				fmt.Fprint(w, n)
			}
		}
		switch {
		case errors.Is(err, sessions.ErrTooManySessions):
			http.Error(w, r.URL.Path+": "+err.Error(), http.StatusTooManyRequests)
		case errors.Is(err, sessions.ErrSessionChanged):
			// Another request ended the session meanwhile (a login that
			// RevokeOwner overtook).
			http.Error(w, r.URL.Path+": "+err.Error(), http.StatusConflict)
		case err != nil:
			http.Error(w, r.URL.Path+": "+err.Error(), http.StatusInternalServerError)
		}
	})))
	return a, loaded, release
}

// loginAs logs a new client in as user and returns its token.
func loginAs(a *app, user string) string {
	a.t.Helper()
	return a.newSession("/login?user=" + url.QueryEscape(user))
}

// whoami returns the ID of the session of token ("" for none) and its
// name, and the reply.
func whoami(a *app, token string) (id, name string, r reply) {
	r = a.get("/whoami", token)
	if !r.ok() {
		a.t.Errorf("whoami: %v", r)
	}
	id, name, _ = strings.Cut(r.body, " ")
	return id, name, r
}

// listed is one line of GET /sessions.
type listed struct {
	id            string
	current, sane bool
}

// list returns owner's sessions as a request with token sees them.
func list(a *app, user, token string) []listed {
	a.t.Helper()
	r := a.get("/sessions?user="+url.QueryEscape(user), token)
	if !r.ok() {
		a.t.Fatalf("Sessions: %v", r)
	}
	var out []listed
	for l := range strings.Lines(r.body) {
		f := strings.Fields(l)
		if len(f) != 3 {
			a.t.Fatalf("Sessions line %q", l)
		}
		out = append(out, listed{id: f[0], current: f[1] == "true", sane: f[2] == "true"})
	}
	return out
}

// dead checks that token names no session any more: a request with it
// gets a fresh, empty session and an expired cookie.
func dead(a *app, token string) bool {
	id, name, r := whoami(a, token)
	return id == "" && name == "" && r.cookie == "-"
}

func ownerListRevoke(t *testing.T, st store.Store) string {
	m := newManager[data](t, st)
	a, _, _ := ownerApp(t, m)
	var tokens, ids []string
	for range 3 {
		tok := loginAs(a, owner)
		tokens = append(tokens, tok)
		id, name, _ := whoami(a, tok)
		if id == "" || name != "user" {
			t.Fatalf("after login: ID %q, name %q", id, name)
		}
		ids = append(ids, id)
	}
	other := loginAs(a, "someone-else")

	l := list(a, owner, tokens[1])
	current := 0
	for _, s := range l {
		if s.current {
			current++
			if s.id != ids[1] {
				t.Errorf("the Current session is %s, want the request's %s", s.id, ids[1])
			}
		}
		if !s.sane {
			t.Errorf("session %s: data, Created or Expires wrong", s.id)
		}
		for _, tok := range tokens {
			if strings.Contains(s.id, tok) {
				t.Error("a session ID gives a token away")
			}
		}
	}
	if len(l) != 3 || current != 1 {
		t.Fatalf("Sessions listed %d sessions with %d current, want 3 with 1: %+v", len(l), current, l)
	}

	// Revoke one (from the "devices" page of another of the sessions).
	if r := a.get("/revoke?id="+ids[0], tokens[1]); !r.ok() {
		t.Fatalf("Revoke: %v", r)
	}
	if !dead(a, tokens[0]) {
		t.Error("a revoked token still names a session")
	}
	if n := len(list(a, owner, "")); n != 2 {
		t.Errorf("after Revoke: %d sessions listed, want 2", n)
	}
	if r := a.get("/revoke?id=not-an-id", tokens[1]); r.ok() {
		t.Errorf("Revoke of a malformed ID answered %v", r)
	}
	if err := m.Revoke(t.Context(), "not-an-id"); !errors.Is(err, sessions.ErrInvalidID) {
		t.Errorf("Revoke of a malformed ID = %v, want ErrInvalidID", err)
	}

	// RevokeOwner ends the rest.
	r := a.get("/revokeowner?user="+url.QueryEscape(owner), "")
	if !r.ok() || r.body != "2" {
		t.Errorf("RevokeOwner: %v, want 2", r)
	}
	for i, tok := range tokens[1:] {
		if !dead(a, tok) {
			t.Errorf("token %d names a session after RevokeOwner", i+1)
		}
	}
	if n := len(list(a, owner, "")); n != 0 {
		t.Errorf("after RevokeOwner: %d sessions listed", n)
	}
	if _, name, _ := whoami(a, other); name != "user" || len(list(a, "someone-else", other)) != 1 {
		t.Error("RevokeOwner ended another owner's session")
	}
	return fmt.Sprintf("listed %d (%d current), RevokeOwner %s", len(l), current, r.body)
}

func ownerRevokeOthers(t *testing.T, st store.Store) string {
	m := newManager[data](t, st)
	a, _, _ := ownerApp(t, m)
	var tokens []string
	for range 3 {
		tokens = append(tokens, loginAs(a, owner))
	}
	r := a.get("/others", tokens[2])
	if !r.ok() || r.body != "2" {
		t.Errorf("RevokeOthers: %v, want 2", r)
	}
	if !dead(a, tokens[0]) || !dead(a, tokens[1]) {
		t.Error("RevokeOthers left another session alive")
	}
	if id, _, _ := whoami(a, tokens[2]); id == "" {
		t.Error("RevokeOthers ended the current session")
	}
	if l := list(a, owner, tokens[2]); len(l) != 1 || !l[0].current {
		t.Errorf("after RevokeOthers: %+v, want just the current session", l)
	}
	return "RevokeOthers " + r.body
}

// ownerRevokeRace revokes an owner's session while a request with it is
// in flight (loaded, not yet changed); the modify (a plain change in even
// trials, an Update in odd ones) must not bring the session back.
func ownerRevokeRace(t *testing.T, st store.Store) string {
	const trials = 10
	m := newManager[data](t, st)
	a, loaded, releases := ownerApp(t, m)
	alive := 0
	for trial := range trials {
		user := "racer" + strconv.Itoa(trial)
		token := loginAs(a, user)
		rel := make(chan struct{})
		releases <- rel
		path := "/slow"
		if trial%2 == 1 {
			path += "?update=1"
		}
		slow := make(chan reply, 1)
		go func() { slow <- a.get(path, token) }()
		select {
		case <-loaded:
		case <-time.After(10 * time.Second):
			t.Fatalf("trial %d: the slow request did not load the session", trial)
		}
		if r := a.get("/revokeowner?user="+user, ""); !r.ok() || r.body != "1" {
			t.Errorf("trial %d: RevokeOwner: %v, want 1", trial, r)
		}
		close(rel)
		if r := <-slow; !r.ok() {
			t.Errorf("trial %d: the slow modify: %v", trial, r)
		}
		if !dead(a, token) {
			alive++
			t.Errorf("trial %d: a racing %s brought a revoked session back", trial, path)
		}
		if n := len(list(a, user, "")); n != 0 {
			t.Errorf("trial %d: %d sessions listed after RevokeOwner", trial, n)
		}
	}
	return fmt.Sprintf("revoke race alive %d/%d", alive, trials)
}

// ownerLoginRace logs an owner in from several clients at once while
// RevokeOwner runs. Each login must end up either ended or listed by
// Sessions (so that a later RevokeOwner ends it): no live session of the
// owner may escape the index.
func ownerLoginRace(t *testing.T, st store.Store) string {
	const logins, rounds = 8, 3
	m := newManager[data](t, st)
	a, _, _ := ownerApp(t, m)
	ended, unlisted := 0, 0
	for round := range rounds {
		user := "crowd" + strconv.Itoa(round)
		start := make(chan struct{})
		tokens := make([]string, logins)
		var wg sync.WaitGroup
		for i := range logins {
			wg.Go(func() {
				<-start
				if i%2 == 1 {
					time.Sleep(time.Duration(i) * time.Millisecond)
				}
				r := a.get("/login?user="+user, "")
				switch {
				case r.code == http.StatusConflict && r.cookie == "":
					// RevokeOwner overtook the login, which ended it
					// before its record was written (LIFECYCLE.md).
				case !r.ok() || r.cookie == "" || r.cookie == "-":
					t.Errorf("round %d: login %d: %v", round, i, r)
				default:
					tokens[i] = r.cookie
				}
			})
		}
		var revoked reply
		wg.Go(func() {
			<-start
			time.Sleep(2 * time.Millisecond)
			revoked = a.get("/revokeowner?user="+user, "")
		})
		close(start)
		wg.Wait()
		if !revoked.ok() {
			t.Fatalf("round %d: RevokeOwner: %v", round, revoked)
		}
		listed := map[string]bool{}
		for _, l := range list(a, user, "") {
			listed[l.id] = true
		}
		live := 0
		for i, tok := range tokens {
			id := ""
			if tok != "" {
				id, _, _ = whoami(a, tok)
			}
			switch {
			case id == "":
				ended++
			case !listed[id]:
				unlisted++
				t.Errorf("round %d: login %d is live but Sessions does not list it", round, i)
			default:
				live++
			}
		}
		r := a.get("/revokeowner?user="+user, "")
		if !r.ok() || r.body != strconv.Itoa(live) {
			t.Errorf("round %d: the second RevokeOwner: %v, want %d", round, r, live)
		}
		for i, tok := range tokens {
			if tok != "" && !dead(a, tok) {
				t.Errorf("round %d: login %d survived the second RevokeOwner", round, i)
			}
		}
	}
	return fmt.Sprintf("login race: %d logins, %d ended by RevokeOwner, %d live and unlisted", logins*rounds, ended, unlisted)
}

// ownerLimitRace runs logins of new owners at once under WithOwnerLimit,
// each policy in turn: at rest an owner has at most the limit of
// sessions, every login that succeeded under RefuseNew is live and
// listed, and no login fails otherwise (under EvictOldest a login may
// find its binding evicted by another: ErrSessionChanged). The racing logins are their
// owner's first: on memcached, the add that creates the owner's index
// lists it.
func ownerLimitRace(t *testing.T, st store.Store) string {
	const limit, logins, rounds = 3, 8, 3
	var counts []string
	for _, policy := range []sessions.LimitPolicy{sessions.RefuseNew, sessions.EvictOldest} {
		m := newManager[data](t, st, sessions.WithOwnerLimit(limit, policy))
		a, _, _ := ownerApp(t, m)
		for round := range rounds {
			user := "limit-" + policy.String() + strconv.Itoa(round)
			start := make(chan struct{})
			tokens := make([]string, logins)
			var wg sync.WaitGroup
			for i := range logins {
				wg.Go(func() {
					<-start
					r := a.get("/login?user="+user, "")
					switch {
					case r.code == http.StatusTooManyRequests && policy == sessions.RefuseNew:
					case r.code == http.StatusConflict && policy == sessions.EvictOldest:
						// Another login evicted this one's binding, still
						// in flight, as the least recently active.
					case !r.ok() || r.cookie == "" || r.cookie == "-":
						t.Errorf("%v round %d: login %d: %v", policy, round, i, r)
					default:
						tokens[i] = r.cookie
					}
				})
			}
			close(start)
			wg.Wait()
			listed := map[string]bool{}
			for _, l := range list(a, user, "") {
				listed[l.id] = true
			}
			if len(listed) == 0 || len(listed) > limit {
				t.Errorf("%v round %d: %d logins at once left %d sessions listed, want 1 to %d", policy, round, logins, len(listed), limit)
			}
			ok, live := 0, 0
			for i, tok := range tokens {
				if tok == "" {
					continue
				}
				ok++
				id, _, _ := whoami(a, tok)
				switch {
				case id != "" && !listed[id]:
					t.Errorf("%v round %d: login %d is live but Sessions does not list it", policy, round, i)
				case id != "":
					live++
				case policy == sessions.RefuseNew:
					t.Errorf("%v round %d: login %d succeeded under RefuseNew but its session is gone", policy, round, i)
				}
			}
			if live > limit {
				t.Errorf("%v round %d: %d sessions live, limit %d", policy, round, live, limit)
			}
			counts = append(counts, fmt.Sprintf("%d/%d", ok, live))
		}
	}
	return fmt.Sprintf("limit %d, %d logins at once (succeeded/live): %s", limit, logins, strings.Join(counts, " "))
}

// ownerIndexSmall logs in and out many times and checks that the owner's
// index, read from the store under the key the manager gives it, does not
// grow: logouts remove their entries.
func ownerIndexSmall(t *testing.T, st store.Store) string {
	const logins = 50
	m := newManager[data](t, st)
	a, _, _ := ownerApp(t, m)
	var tokens []string
	for i := range logins {
		tok := loginAs(a, owner)
		tokens = append(tokens, tok)
		if r := a.get("/logout", tok); !r.ok() || r.cookie != "-" {
			t.Fatalf("logout %d: %v", i, r)
		}
	}
	afterLogouts := len(list(a, owner, ""))
	if afterLogouts != 0 {
		t.Errorf("after %d logins and logouts: %d sessions listed, want 0", logins, afterLogouts)
	}
	tokens = append(tokens, loginAs(a, owner))
	if n := len(list(a, owner, "")); n != 1 {
		t.Errorf("one login after the logouts: %d sessions listed, want 1", n)
	}
	var entries int
	if x, own := st.(store.OwnerIndex); own {
		// The store's own index: its entries, IDs and times only.
		list, err := x.IndexList(t.Context(), indexKey(st, owner))
		if err != nil {
			t.Fatal(err)
		}
		entries = len(list)
		for _, e := range list {
			for _, tok := range tokens {
				if e.ID == tok {
					t.Fatal("the owner index holds a session token")
				}
			}
		}
	} else {
		raw, found, err := st.Load(t.Context(), indexKey(st, owner))
		if err != nil || !found {
			t.Fatalf("owner index under %q: found %v, %v", indexKey(st, owner), found, err)
		}
		const magic, header, entrySize = "sidx2", 17, 59
		if !bytes.HasPrefix(raw, []byte(magic)) || (len(raw)-header)%entrySize != 0 {
			t.Fatalf("owner index of %d bytes is not %q, a header and entries of %d bytes", len(raw), magic, entrySize)
		}
		entries = (len(raw) - header) / entrySize
		for _, tok := range tokens {
			if bytes.Contains(raw, []byte(tok)) {
				t.Fatal("the owner index holds a session token")
			}
		}
	}
	if entries > 3 {
		t.Errorf("after %d logins and logouts and one login, the owner index holds %d entries, want at most 3", logins, entries)
	}
	return fmt.Sprintf("after %d logouts listed %d, index %d entries after one more login", logins, afterLogouts, entries)
}

// indexKey is the store key the managers on st give owner's index.
func indexKey(st store.Store, owner string) string {
	sum := sha256.Sum256([]byte(owner))
	return keyPrefix(st) + "owner:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// ownerTransport binds sessions through the token transport (Load /
// Commit), as an API with tokens in a header does.
func ownerTransport(t *testing.T, st store.Store) string {
	m := newManager[data](t, st)
	ctx := t.Context()
	apiLogin := func() string {
		t.Helper()
		sctx, err := m.Load(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		m.Get(sctx).Name = "api"
		if err := login(sctx, m, owner); err != nil {
			t.Fatalf("login: %v", err)
		}
		token, _, err := m.Commit(sctx)
		if err != nil || token == "" {
			t.Fatalf("Commit after login: %q, %v", token, err)
		}
		return token
	}
	t1, t2 := apiLogin(), apiLogin()
	sctx, err := m.Load(ctx, t1)
	if err != nil {
		t.Fatal(err)
	}
	id := sessionID(t, m, sctx)
	got, err := m.Sessions(sctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	current := 0
	for _, info := range got {
		if info.Current {
			current++
			if info.ID != id {
				t.Errorf("the Current session is %s, want %s", info.ID, id)
			}
		}
		if info.Data.Name != "api" {
			t.Errorf("listed data %+v", info.Data)
		}
	}
	if len(got) != 2 || current != 1 {
		t.Fatalf("Sessions listed %d with %d current, want 2 with 1", len(got), current)
	}
	if n, err := m.RevokeOthers(sctx); n != 1 || err != nil {
		t.Errorf("RevokeOthers = %d, %v; want 1", n, err)
	}
	if tok, _, err := m.Commit(sctx); tok != t1 || err != nil {
		t.Errorf("Commit after RevokeOthers = %q, %v; want the same token", tok, err)
	}
	gone, err := m.Load(ctx, t2)
	if err != nil {
		t.Fatal(err)
	}
	if sessionID(t, m, gone) != "" || m.Get(gone).Name != "" {
		t.Error("the other API session survived RevokeOthers")
	}
	if tok, _, _ := m.Commit(gone); tok != "" {
		t.Error("Commit of a revoked session handed out a token")
	}
	if err := m.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	if again, _ := m.Load(ctx, t1); sessionID(t, m, again) != "" {
		t.Error("a revoked API token still names a session")
	}
	left, err := m.Sessions(ctx, owner)
	if err != nil || len(left) != 0 {
		t.Errorf("after Revoke: %d sessions listed, %v", len(left), err)
	}
	return fmt.Sprintf("token transport listed %d (%d current)", len(got), current)
}

// sessionID returns m.ID(ctx), reporting an error through t.Errorf.
func sessionID(t *testing.T, m *sessions.Manager[data], ctx context.Context) string {
	t.Helper()
	id, err := m.ID(ctx)
	if err != nil {
		t.Errorf("ID: %v", err)
	}
	return id
}
