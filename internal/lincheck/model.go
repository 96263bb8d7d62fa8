package lincheck

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// This file is the sequential specification the histories are checked
// against: LIFECYCLE.md as a state machine over the tokens the clients
// and the server exchanged.
//
// The state is what LIFECYCLE.md calls records and the owner index, seen
// through tokens: every token ever issued is live (a session: its value
// and owner), a forward (renewed away: it names the token it was renewed
// to and never loads) or dead (ended: it names nothing). Tokens are
// labels ("t7"), numbered per history (see universe), not the
// 43-character values; a token an operation created but nobody received
// (its response was an error, or never sent) is an orphan, labelled after
// the operation ("~12"): the clients cannot present it, but it counts for
// RevokeOwner and Sessions.
//
// An operation that loads its session and writes later (set, incr,
// login, logout, revokeothers) is two entries of the history: its load,
// which records in the state what it found (a mark), and its write, which
// takes effect on the state as it is then, as the request's conditional
// write does. Each has the time window in which it happened (the server
// notes when Get returned and when the handler went on to change the
// session), so porcupine places each where the implementation did. A
// login has two more: its binding (SetOwner adds the new ID to the
// owner's index before the write, and a RevokeOwner in between ends the
// login: the binding is doomed) and its cleanup (the old ID leaves the
// previous owner's index after the write; until then a RevokeOwner or
// RevokeOthers of that owner may follow it).

// numOwners is how many owners (users) the clients log in as.
const numOwners = 2

// ownerName is the owner string of owner number o, as SetOwner gets it
// and as the User field holds it; "" for -1.
func ownerName(o int8) string {
	if o < 0 {
		return ""
	}
	return "o" + strconv.Itoa(int(o)+1)
}

// A tokID numbers a token of one history (see universe); 0 is no token.
type tokID int16

// A universe names the tokens of one history: t1, t2, ... for the tokens
// responses set, ~N for the orphan operation N may create, ?x for a
// token a client presented that no response set (which the model cannot
// know).
type universe struct {
	names []string // by tokID; names[0] is ""
	ids   map[string]tokID
}

func newUniverse() *universe {
	return &universe{names: []string{""}, ids: map[string]tokID{"": 0}}
}

// id returns the number of the token labelled name, numbering it if new.
func (u *universe) id(name string) tokID {
	if id, ok := u.ids[name]; ok {
		return id
	}
	id := tokID(len(u.names))
	u.names = append(u.names, name)
	u.ids[name] = id
	return id
}

func (u *universe) name(t tokID) string { return u.names[t] }

// orphan is the label of the token operation op created that no client
// received.
func orphan(op int) string { return "~" + strconv.Itoa(op) }

func (u *universe) isOrphan(t tokID) bool { return strings.HasPrefix(u.names[t], "~") }

// A class is what a request found when it loaded the token it presented.
type class uint8

const (
	cNone class = iota // no token presented
	cLive
	cForward
	cDead
)

func (c class) String() string { return [...]string{"none", "live", "forward", "dead"}[c] }

// A tokKind is the state of a token's record.
type tokKind uint8

const (
	unissued tokKind = iota
	live
	forward
	dead
)

// A token is the model's record of one token.
type token struct {
	kind  tokKind
	owner int8  // live: the owner it is bound to; -1 when unbound
	user  int8  // the User field: an owner, or -1 for ""
	a, b  int32 // the A and B fields
	to    tokID // forward: the token it was renewed to
}

// value is t's session value.
func (t token) value() Value { return Value{A: int(t.a), B: int(t.b), User: ownerName(t.user)} }

// field returns a pointer to field f (0: A, 1: B) of t.
func (t *token) field(f int) *int32 {
	if f == 0 {
		return &t.a
	}
	return &t.b
}

// An entry is an owner index entry a login's cleanup removes.
type entry struct {
	owner int8
	tok   tokID
}

// A mark is what an operation's load found, kept until its write (and,
// for a login, its binding and its cleanup).
type mark struct {
	op          int32
	loaded      class
	owner       int8    // revokeothers: the loaded session's owner (-1: none); login: the owner it binds
	noop        bool    // set: the loaded value already had the field at that value: nothing to save
	userChanged bool    // login: the loaded User was not the owner, so the login changes it
	stage       uint8   // login: 0 loaded, 1 bound, 2 written
	doomed      bool    // login: a revocation of its owner saw its pending binding
	tok         tokID   // login: the token it presented
	stale       []entry // login: index entries its cleanup removes (never modified in place)
	val         token   // login, under relaxations only: the value loaded
	dies        tokID   // login that panicked: the orphan its cleanup ends (the middleware ends it after the panic)
	dying       []tokID // revocation under way: sessions it may end before it returns (see sweepStep; never modified in place)
	early       uint8   // revocation under way: sessions it ended before it returned
}

// A bitset is a set of tokens.
type bitset []uint64

func (b bitset) has(t tokID) bool { return b[t/64]&(1<<(t%64)) != 0 }
func (b bitset) add(t tokID)      { b[t/64] |= 1 << (t % 64) }
func (b bitset) del(t tokID)      { b[t/64] &^= 1 << (t % 64) }

// state is one state of the model. It is immutable once sealed: steps
// clone it.
type state struct {
	u     *universe
	toks  []token           // by tokID
	idx   [numOwners]bitset // the owner index: tokens listed per owner
	ever  [numOwners]bitset // tokens ever bound to the owner
	marks []mark            // by operation, in order
	key   string            // canonical encoding: equal states have equal keys
	hash  uint64
}

func initState(u *universe) *state {
	s := &state{u: u, toks: make([]token, len(u.names))}
	words := (len(u.names) + 63) / 64
	for o := range numOwners {
		s.idx[o], s.ever[o] = make(bitset, words), make(bitset, words)
	}
	return s.seal()
}

func (s *state) clone() *state {
	n := &state{u: s.u, toks: slices.Clone(s.toks), marks: slices.Clone(s.marks)}
	for o := range numOwners {
		n.idx[o], n.ever[o] = slices.Clone(s.idx[o]), slices.Clone(s.ever[o])
	}
	return n
}

var keySeed = maphash.MakeSeed()

// seal drops the index entries that can no longer matter (their forward
// chain ends in a dead token: nothing follows them to a session), then
// computes the state's key.
func (s *state) seal() *state {
	for o := range numOwners {
		for t := range s.toks {
			if s.idx[o].has(tokID(t)) {
				if _, e := s.end(tokID(t)); e.kind != live {
					s.idx[o].del(tokID(t))
				}
			}
		}
	}
	bp := keyBuffers.Get().(*[]byte)
	defer keyBuffers.Put(bp)
	b := (*bp)[:0]
	for t, tk := range s.toks {
		if tk.kind != unissued {
			b = binary.AppendUvarint(b, uint64(t))
			b = append(b, byte(tk.kind), byte(tk.owner), byte(tk.user))
			b = binary.AppendUvarint(b, uint64(tk.a))
			b = binary.AppendUvarint(b, uint64(tk.b))
			b = binary.AppendUvarint(b, uint64(tk.to))
		}
	}
	for o := range numOwners {
		for _, w := range s.idx[o] {
			b = binary.LittleEndian.AppendUint64(b, w)
		}
		for _, w := range s.ever[o] {
			b = binary.LittleEndian.AppendUint64(b, w)
		}
	}
	for _, m := range s.marks {
		b = binary.AppendUvarint(b, uint64(m.op))
		b = append(b, byte(m.loaded), byte(m.owner), m.stage, flags(m.noop, m.userChanged, m.doomed))
		b = binary.AppendUvarint(b, uint64(m.tok))
		b = binary.AppendUvarint(b, uint64(m.dies))
		b = binary.AppendUvarint(b, uint64(m.val.a))
		b = binary.AppendUvarint(b, uint64(m.val.b))
		b = append(b, byte(m.val.user), byte(len(m.stale)))
		for _, e := range m.stale {
			b = append(b, byte(e.owner))
			b = binary.AppendUvarint(b, uint64(e.tok))
		}
		b = append(b, m.early, byte(len(m.dying)))
		for _, t := range m.dying {
			b = binary.AppendUvarint(b, uint64(t))
		}
	}
	s.key = string(b)
	s.hash = maphash.String(keySeed, s.key)
	*bp = b
	return s
}

// keyBuffers holds the buffers seal encodes keys in (porcupine seals
// millions of states; a fresh buffer each time was a third of the work).
var keyBuffers = sync.Pool{New: func() any { return new([]byte) }}

func flags(bits ...bool) byte {
	var f byte
	for i, b := range bits {
		if b {
			f |= 1 << i
		}
	}
	return f
}

// String describes s: every issued token (t3=A,B,User@owner for a live
// one, t3>t5 for a forward, t3† for a dead one), the owner indexes, and
// the marks of the operations in flight.
func (s *state) String() string {
	var b strings.Builder
	for t, tk := range s.toks {
		name := s.u.name(tokID(t))
		switch tk.kind {
		case live:
			fmt.Fprintf(&b, "%s=%d,%d,%s", name, tk.a, tk.b, ownerName(tk.user))
			if tk.owner >= 0 {
				b.WriteString("@" + ownerName(tk.owner))
			}
		case forward:
			b.WriteString(name + ">" + s.u.name(tk.to))
		case dead:
			b.WriteString(name + "†")
		default:
			continue
		}
		b.WriteByte(' ')
	}
	set := func(bs bitset) string {
		var names []string
		for t := range s.toks {
			if bs.has(tokID(t)) {
				names = append(names, s.u.name(tokID(t)))
			}
		}
		return strings.Join(names, ",")
	}
	for o := range numOwners {
		fmt.Fprintf(&b, "| %s index %s ever %s ", ownerName(int8(o)), set(s.idx[o]), set(s.ever[o]))
	}
	for _, m := range s.marks {
		fmt.Fprintf(&b, "| #%d loaded %v", m.op, m.loaded)
		if m.owner >= 0 {
			b.WriteString(" " + ownerName(m.owner))
		}
		if m.stage > 0 {
			fmt.Fprintf(&b, " stage %d", m.stage)
		}
		if m.doomed {
			b.WriteString(" doomed")
		}
		for _, e := range m.stale {
			fmt.Fprintf(&b, " stale %s@%s", s.u.name(e.tok), ownerName(e.owner))
		}
		for _, t := range m.dying {
			fmt.Fprintf(&b, " ending %s", s.u.name(t))
		}
		if m.early > 0 {
			fmt.Fprintf(&b, " ended %d", m.early)
		}
		b.WriteByte(' ')
	}
	return strings.TrimSpace(b.String())
}

// mark returns the mark of operation op.
func (s *state) mark(op int) (mark, bool) {
	i, ok := slices.BinarySearchFunc(s.marks, int32(op), func(m mark, op int32) int { return int(m.op - op) })
	if !ok {
		return mark{}, false
	}
	return s.marks[i], true
}

// setMark sets the mark of m.op.
func (s *state) setMark(m mark) {
	i, ok := slices.BinarySearchFunc(s.marks, m.op, func(m mark, op int32) int { return int(m.op - op) })
	if ok {
		s.marks[i] = m
	} else {
		s.marks = slices.Insert(s.marks, i, m)
	}
}

// dropMark removes the mark of operation op.
func (s *state) dropMark(op int) {
	s.marks = slices.DeleteFunc(s.marks, func(m mark) bool { return int(m.op) == op })
}

// class is what a request presenting tok finds. A token the model never
// issued names nothing.
func (s *state) class(tok tokID) class {
	switch {
	case tok == 0:
		return cNone
	case s.toks[tok].kind == live:
		return cLive
	case s.toks[tok].kind == forward:
		return cForward
	}
	return cDead
}

// end follows tok's forwards to the token at the end of its chain.
func (s *state) end(tok tokID) (tokID, token) {
	t := s.toks[tok]
	for t.kind == forward {
		tok, t = t.to, s.toks[t.to]
	}
	return tok, t
}

// target is the token a request that loaded tok live writes to now: tok
// while it is live; after another request renewed it, the live end of its
// forward chain; 0 once the session ended.
func (s *state) target(tok tokID) tokID {
	if e, t := s.end(tok); t.kind == live {
		return e
	}
	return 0
}

// create adds a new live token with value v bound to owner (-1: unbound).
func (s *state) create(tok tokID, v token, owner int8) {
	s.toks[tok] = token{kind: live, owner: -1, user: v.user, a: v.a, b: v.b}
	s.bind(tok, owner)
}

// bind binds the live token tok to owner: its record says so and the
// owner's index lists it.
func (s *state) bind(tok tokID, owner int8) {
	s.toks[tok].owner = owner
	if owner >= 0 {
		s.idx[owner].add(tok)
		s.ever[owner].add(tok)
	}
}

// renew makes the live token tok a forward to the new token to, which
// gets tok's value changed by change and is bound to owner.
func (s *state) renew(tok, to tokID, change func(*token), owner int8) {
	v := s.toks[tok]
	change(&v)
	s.toks[tok] = token{kind: forward, owner: -1, to: to}
	s.create(to, v, owner)
}

// kill ends tok and every token it was renewed to: Destroy, Revoke and
// the revocations delete the records along the forward chain.
func (s *state) kill(tok tokID) {
	for tok != 0 && s.toks[tok].kind != dead && s.toks[tok].kind != unissued {
		next := s.toks[tok].to
		s.toks[tok] = token{kind: dead, owner: -1}
		tok = next
	}
}

// killForwards deletes the forward records of tok's chain but leaves the
// live session at its end.
func (s *state) killForwards(tok tokID) {
	for s.toks[tok].kind == forward {
		next := s.toks[tok].to
		s.toks[tok] = token{kind: dead, owner: -1}
		tok = next
	}
}

// killForwardPrefix deletes the first k forward records of tok's chain:
// a Destroy or Revoke that failed after deleting them.
func (s *state) killForwardPrefix(tok tokID, k int) {
	for ; k > 0 && s.toks[tok].kind == forward; k-- {
		next := s.toks[tok].to
		s.toks[tok] = token{kind: dead, owner: -1}
		tok = next
	}
}

// partialEnds are the effects of a Destroy or Revoke of tok whose outcome
// is unknown, besides none and all: it follows the chain deleting each
// forward on the way, so it may have failed after any of them.
func partialEnds(s *state, tok tokID, c cand) []cand {
	var cands []cand
	for k, t := 1, tok; s.toks[t].kind == forward; k, t = k+1, s.toks[t].to {
		c.apply = func(n *state, _ tokID) { n.killForwardPrefix(tok, k) }
		cands = append(cands, c)
	}
	return cands
}

// step is the specification: the states s can move to when the history
// entry (in, out) takes effect in s; none when it cannot.
func step(s *state, in *input, out *output) []*state {
	var next []*state
	for _, f := range earlyEnds(s, in) {
		next = append(next, stepOne(f, in, out)...)
	}
	return next
}

// stepOne is step in one state, where no revocation under way ends a
// session first.
func stepOne(s *state, in *input, out *output) []*state {
	switch in.step {
	case stepSweep:
		return sweepStep(s, in, out)
	case stepLoad:
		return loadStep(s, in)
	case stepBind:
		return bindStep(s, in)
	case stepCleanup:
		return cleanupStep(s, in, out)
	}
	switch in.kind {
	case Read:
		return readStep(s, in, out)
	case Set:
		return setWrite(s, in, out)
	case Incr:
		return incrWrite(s, in, out)
	case Login:
		return loginWrite(s, in, out)
	case Logout:
		return logoutWrite(s, in, out)
	case Revoke:
		return revokeStep(s, in, out)
	case RevokeOwner:
		return revokeOwnerStep(s, in, out)
	case RevokeOthers:
		return revokeOthersWrite(s, in, out)
	case Sessions:
		return sessionsStep(s, in, out)
	}
	return nil
}

// readStep: a read returns the value of a live token with its ID and
// keeps the cookie; a forward reads as a new, empty session and keeps the
// cookie (a racing response carries the new token), or, when the session
// it leads to has ended, may read as dead (a revocation that reached the
// forward through a login's index entry deleted it: it led nowhere); a
// dead token reads empty and the cookie is expired; no token reads empty,
// creates nothing and sets no cookie.
func readStep(s *state, in *input, out *output) []*state {
	if out.outcome != known {
		return []*state{s}
	}
	var want Value
	var id tokID
	cookie := cookieKeep
	switch s.class(in.token) {
	case cLive:
		want, id = s.toks[in.token].value(), in.token
	case cDead:
		cookie = cookieExpire
	}
	if id != 0 && out.id == 0 && out.val == (Value{}) && out.cookie == cookieKeep && renewInFlight(s, in.token, in.op) {
		want, id = Value{}, 0 // the forward of a login in flight (see renewInFlight)
	}
	if out.result != resOK || out.val != want || out.id != id {
		return nil
	}
	if out.cookie != cookie && !(in.relax&relaxForwardRead != 0 && s.class(in.token) == cForward && out.cookie == cookieExpire) &&
		!(out.cookie == cookieExpire && s.class(in.token) == cForward && s.target(in.token) == 0) {
		return nil
	}
	return []*state{s}
}

// loadStep records what the request found when it loaded its session.
func loadStep(s *state, in *input) []*state {
	if _, ok := s.mark(in.op); ok {
		return nil
	}
	load := func(c class) *state {
		var t token // the zero value unless live
		if c == cLive {
			t = s.toks[in.token]
		} else {
			t.user = -1
		}
		m := mark{op: int32(in.op), loaded: c, owner: -1}
		switch in.kind {
		case Set:
			m.noop = *t.field(in.field) == int32(in.x)
		case Login:
			m.userChanged, m.tok = t.user != in.owner, in.token
			if in.relax != 0 {
				m.val = t // for the relaxations only (see relaxedLogins)
			}
		case RevokeOthers:
			m.owner = t.owner
			if c != cLive {
				m.owner = -1
			}
		}
		n := s.clone()
		n.setMark(m)
		return n.seal()
	}
	c := s.class(in.token)
	next := []*state{load(c)}
	if c == cLive && renewInFlight(s, in.token, in.op) {
		next = append(next, load(cForward))
	}
	if c == cForward && in.relax&relaxForwardRead != 0 {
		next = append(next, load(cDead))
	}
	return next
}

// renewInFlight reports whether a login other than op, which loaded the
// live token tok, is between its binding and its write. Its Renew writes
// two records, the forward under tok and then the new session: the model
// takes both at the login's write, but a load in between finds the
// forward, so a load of tok may find it renewed already (and the login
// then ends one way or another at its write).
func renewInFlight(s *state, tok tokID, op int) bool {
	for _, m := range s.marks {
		if int(m.op) != op && m.stage == 1 && m.loaded == cLive && m.tok == tok && tok != 0 {
			return true
		}
	}
	return false
}

// bindStep is SetOwner adding the login's new ID to the owner's index,
// before its write: from here until the write, a revocation of the owner
// dooms the login.
func bindStep(s *state, in *input) []*state {
	m, ok := s.mark(in.op)
	if !ok || m.stage != 0 {
		return nil
	}
	m.stage, m.owner = 1, in.owner
	n := s.clone()
	n.setMark(m)
	return []*state{n.seal()}
}

// cleanupStep is the login removing the old ID from the previous owner's
// index, after its write. A login whose outcome is unknown may have
// failed before.
func cleanupStep(s *state, in *input, out *output) []*state {
	m, ok := s.mark(in.op)
	if !ok || m.stage != 2 {
		return nil
	}
	n := s.clone()
	n.dropMark(in.op)
	if m.dies != 0 {
		n.kill(m.dies)
	}
	for _, e := range m.stale {
		// Unless the session was bound to that owner again meanwhile:
		// every live session bound to an owner stays listed.
		if t := n.toks[e.tok]; t.kind != live || t.owner != e.owner {
			n.idx[e.owner].del(e.tok)
		}
	}
	next := []*state{n.seal()}
	if out.outcome == unknown && len(m.stale) > 0 {
		n := s.clone()
		n.dropMark(in.op)
		next = append(next, n.seal())
	}
	return next
}

// A cand is one way an operation's write may take effect: the result and
// cookie its response then carries (and the count, for incr and the
// revocations), and the change to the state. apply gets the token the
// write creates when cookie is set.
type cand struct {
	res    result
	cookie cookieAction
	n      int
	apply  func(s *state, tok tokID)
}

// resolve returns the states the candidate effects of an operation's
// write lead to, given what its client observed:
//
//   - known: the candidates whose response matches; a new token is the
//     one the response set, and must be new;
//   - panicked (the handler panicked after its call succeeded, so no
//     response was sent): the successful candidates with the count the
//     handler saw; a token they create is an orphan, and LIFECYCLE.md
//     says a new token written but never sent is ended before the panic
//     continues, so it is dead unless a store fault may have kept the
//     manager from ending it;
//   - unknown (an error response, or a fault while the response had
//     already started): any candidate, a created token an orphan that is
//     live or was ended, or no effect at all.
//
// prep applies to every outcome (it retires or advances the mark).
func resolve(s *state, in *input, out *output, prep func(*state), cands []cand) []*state {
	var next []*state
	try := func(c cand, tok tokID, ended bool) {
		n := s.clone()
		prep(n)
		c.apply(n, tok)
		switch m, ok := n.mark(in.op); {
		case ended && ok && m.stage == 2:
			// A login: the middleware ends the orphan after the panic,
			// which the login's cleanup entry stands for.
			m.dies = tok
			n.setMark(m)
		case ended:
			n.kill(tok)
		}
		next = append(next, n.seal())
		if in.faulted {
			next = append(next, keptForwards(s, n)...)
		}
	}
	counts := in.kind == Incr || in.kind == RevokeOwner || in.kind == RevokeOthers
	for _, c := range cands {
		switch out.outcome {
		case known:
			if c.res != out.result || c.cookie != out.cookie || (counts && c.res == resOK && c.n != out.n) {
				continue
			}
			if c.cookie != cookieSet {
				try(c, 0, false)
			} else if out.token != 0 && s.toks[out.token].kind == unissued {
				try(c, out.token, false)
			}
		case panicked:
			if c.res != out.result || (counts && c.n != out.n) {
				continue
			}
			if c.cookie != cookieSet {
				try(c, 0, false)
				continue
			}
			try(c, in.orphan, true)
			if !out.strict || in.relax&relaxRenewedLive != 0 {
				try(c, in.orphan, false)
			}
		case unknown:
			if c.cookie != cookieSet {
				try(c, 0, false)
				continue
			}
			try(c, in.orphan, true)
			try(c, in.orphan, false)
		}
	}
	if out.outcome == unknown {
		n := s.clone()
		prep(n)
		next = append(next, n.seal())
	}
	return dedup(next)
}

// keptForwards are the states where one forward record that the step
// from s to n deleted is still there: an operation that met a store fault
// may have failed to delete it (endSession only logs that: the forward
// leads to an ended session and expires on its own).
func keptForwards(s, n *state) []*state {
	var out []*state
	for x, t := range s.toks {
		if t.kind == forward && n.toks[x].kind == dead {
			k := n.clone()
			k.toks[x] = t
			out = append(out, k.seal())
		}
	}
	return out
}

func dedup(states []*state) []*state {
	var out []*state
	for _, s := range states {
		if !slices.ContainsFunc(out, func(o *state) bool { return o.key == s.key }) {
			out = append(out, s)
		}
	}
	return out
}

// retire is the prep of operations whose write is their last entry.
func retire(op int) func(*state) { return func(s *state) { s.dropMark(op) } }

func nothing(*state, tokID) {}

// setWrite: a plain change, saved by the middleware. A request that
// loaded a live session writes the field there, or, if another request
// renewed it meanwhile, into the live end of the forward chain; if the
// session ended first, the change is dropped; the cookie stays. A request
// that loaded no session (no token, a forward, a dead token) saves a new
// one and sets its cookie; if it started the response before the change,
// the new session cannot get its cookie and is not saved.
func setWrite(s *state, in *input, out *output) []*state {
	m, ok := s.mark(in.op)
	if !ok {
		return nil
	}
	var cands []cand
	if out.outcome == panicked {
		// The handler panicked after the change: the middleware did not
		// save it, or (if it saves what a panicking handler changed) it
		// landed as below, where a new session is ended with the panic.
		cands = append(cands, cand{res: resOK, cookie: cookieKeep, apply: nothing})
	}
	var c cand
	switch {
	case m.loaded == cLive && m.noop:
		c = cand{res: resOK, cookie: cookieKeep, apply: nothing} // nothing changed: nothing to save
	case m.loaded == cLive:
		c = cand{res: resOK, cookie: cookieKeep, apply: func(n *state, _ tokID) {
			if to := n.target(in.token); to != 0 {
				*n.toks[to].field(in.field) = int32(in.x)
			}
		}}
		if in.relax&relaxForwardWrite != 0 && s.class(in.token) == cForward {
			cands = append(cands, cand{res: resOK, cookie: cookieKeep, apply: nothing})
		}
	case in.early:
		c = cand{res: resOK, cookie: loadCookie(m), apply: nothing}
	default:
		c = cand{res: resOK, cookie: cookieSet, apply: func(n *state, tok tokID) {
			v := token{user: -1}
			*v.field(in.field) = int32(in.x)
			n.create(tok, v, -1)
		}}
	}
	return resolve(s, in, out, retire(in.op), append(cands, c))
}

// loadCookie is the cookie a response started right after the load
// carries: expired for a token that names nothing, else untouched.
func loadCookie(m mark) cookieAction {
	if m.loaded == cDead {
		return cookieExpire
	}
	return cookieKeep
}

// incrWrite: Update increments the field on the freshest value and
// answers the new value: where a set writes (see setWrite), or 409 when
// the session ended first. With no session loaded it creates one (the
// field is 1) and sets its cookie; after the response started it cannot,
// and reports ErrResponseStarted.
func incrWrite(s *state, in *input, out *output) []*state {
	m, ok := s.mark(in.op)
	if !ok {
		return nil
	}
	var c cand
	switch {
	case m.loaded == cLive:
		to := s.target(in.token)
		if to == 0 || (in.relax&relaxForwardWrite != 0 && s.class(in.token) == cForward && out.result == resConflict) {
			c = cand{res: resConflict, cookie: cookieKeep, apply: nothing}
			break
		}
		v := s.toks[to]
		c = cand{res: resOK, cookie: cookieKeep, n: int(*v.field(in.field)) + 1, apply: func(n *state, _ tokID) {
			*n.toks[to].field(in.field)++
		}}
	case in.early:
		c = cand{res: resStarted, cookie: loadCookie(m), apply: nothing}
	default:
		c = cand{res: resOK, cookie: cookieSet, n: 1, apply: func(n *state, tok tokID) {
			v := token{user: -1}
			*v.field(in.field) = 1
			n.create(tok, v, -1)
		}}
	}
	return resolve(s, in, out, retire(in.op), []cand{c})
}

// logoutWrite: Destroy ends the loaded session and every token renewed
// from it, and expires the cookie. A request whose token a racing login
// renewed away (it loaded a forward) ends the session the token was
// renewed into; one that loaded nothing else ends nothing. After the response started the
// session still ends, but the cookie stays and Destroy reports
// ErrResponseStarted.
func logoutWrite(s *state, in *input, out *output) []*state {
	m, ok := s.mark(in.op)
	if !ok {
		return nil
	}
	c := cand{res: resOK, cookie: cookieExpire, apply: func(n *state, _ tokID) {
		if m.loaded == cLive || m.loaded == cForward {
			n.kill(in.token) // a forward: the session it was renewed into ends
		}
	}}
	switch {
	case in.early:
		c.res, c.cookie = resStarted, loadCookie(m)
	case in.token == 0:
		c.cookie = cookieKeep // nothing presented, nothing to expire
	}
	cands := []cand{c}
	if in.relax&relaxForwardEnd != 0 && m.loaded == cLive && s.class(in.token) == cForward {
		c.apply = func(n *state, _ tokID) { n.killForwards(in.token) }
		cands = append(cands, c)
	}
	if out.outcome == unknown && (m.loaded == cLive || m.loaded == cForward) {
		cands = append(cands, partialEnds(s, in.token, c)...)
	}
	return resolve(s, in, out, retire(in.op), cands)
}

// loginWrite is the write of Renew and SetOwner together (SetOwner's
// write carries the pending Renew):
//
//   - loaded live, still live: a new token, live with the session's
//     (freshest) value, User set to the owner and bound to the owner; the
//     old token forwards to it; the cookie is set. If a revocation of the
//     owner saw the pending binding, the new record is a tombstone: 409,
//     and the old token either stays or forwards to the ended session.
//   - loaded live, renewed by another request meanwhile: the login
//     follows the forward and binds the session at its end (User set if
//     this login changed it); its own Renew yields; the cookie stays (the
//     winner's response carries the new token).
//   - loaded live, ended meanwhile (or the chain ends dead): 409, cookie
//     untouched.
//   - loaded nothing (no token, a forward, a dead token): a new session
//     with User set, bound to the owner; cookie set; 409 if doomed (the
//     cookie of a dead token may then also be expired, as any load of it
//     does).
//   - started response: Renew reports ErrResponseStarted; nothing changes.
func loginWrite(s *state, in *input, out *output) []*state {
	m, ok := s.mark(in.op)
	if !ok {
		return nil
	}
	if in.early {
		if m.stage != 0 {
			return nil
		}
		return resolve(s, in, out, retire(in.op), []cand{{res: resStarted, cookie: loadCookie(m), apply: nothing}})
	}
	if m.stage != 1 {
		return nil
	}
	o := in.owner
	setUser := func(v *token) { v.user = o }
	written := func(n *state, stale ...entry) {
		n.setMark(mark{op: int32(in.op), stage: 2, owner: o, stale: stale})
	}
	prep := func(n *state) { written(n) }
	conflict := cand{res: resConflict, cookie: cookieKeep, apply: nothing}
	var cands []cand
	switch {
	case m.loaded == cLive && s.class(in.token) == cLive && m.doomed:
		// The old token stays, or forwards to the ended session (the
		// forward written, the new record refused), or names nothing (the
		// manager deleted the forward to the session it could not write).
		cands = append(cands, conflict, cand{res: resConflict, cookie: cookieKeep, apply: func(n *state, _ tokID) {
			n.renew(in.token, in.orphan, setUser, -1)
			n.kill(in.orphan)
		}}, cand{res: resConflict, cookie: cookieKeep, apply: func(n *state, _ tokID) { n.kill(in.token) }})
	case m.loaded == cLive && s.class(in.token) == cLive:
		prev := s.toks[in.token].owner
		renew := func(change func(*token)) func(n *state, tok tokID) {
			return func(n *state, tok tokID) {
				n.renew(in.token, tok, change, o)
				if prev >= 0 {
					written(n, entry{prev, in.token})
				}
			}
		}
		// User merges like any field: a login whose loaded value already
		// named the owner did not change it, and a racing write's User
		// stays.
		mergedUser := func(v *token) {
			if m.userChanged {
				v.user = o
			}
		}
		cands = append(cands, cand{res: resOK, cookie: cookieSet, apply: renew(mergedUser)})
		if out.outcome != known {
			// The new session never reached the client and was ended (a
			// panic, an error): the manager may have deleted the forward
			// to it as well.
			cands = append(cands, cand{res: resOK, cookie: cookieKeep, apply: func(n *state, _ tokID) {
				n.renew(in.token, in.orphan, mergedUser, o)
				n.kill(in.token) // and the orphan it forwards to
			}})
		}
		if in.relax&relaxLostUpdate != 0 {
			cands = append(cands, cand{res: resOK, cookie: cookieSet, apply: renew(func(v *token) { *v = m.val; v.user = o })})
		}
	case m.loaded == cLive:
		to := s.target(in.token)
		if to == 0 {
			cands = append(cands, conflict)
			break
		}
		prev := s.toks[to].owner
		cands = append(cands, cand{res: resOK, cookie: cookieKeep, apply: func(n *state, _ tokID) {
			if m.userChanged {
				n.toks[to].user = o
			}
			n.bind(to, o)
			if prev >= 0 && prev != o {
				written(n, entry{prev, to})
			}
		}})
	case m.doomed:
		cands = append(cands, conflict)
		if m.loaded == cDead {
			cands = append(cands, cand{res: resConflict, cookie: cookieExpire, apply: nothing})
		}
	default:
		cands = append(cands, cand{res: resOK, cookie: cookieSet, apply: func(n *state, tok tokID) {
			n.create(tok, token{user: o}, o)
		}})
	}
	if out.outcome == unknown {
		cands = append(cands, unboundLogins(s, in, m)...)
	}
	if in.relax != 0 {
		cands = append(cands, relaxedLogins(s, in, out, m)...)
	}
	return resolve(s, in, out, prep, cands)
}

// unboundLogins are the effects of a login whose SetOwner failed before
// its write while the response still went through the middleware (the
// handler answered the error itself): the commit at the response's start
// saves the pending Renew and the User change without the binding. A
// renewed session keeps the owner it had (Renew keeps the binding).
// SetOwner may have added the ID to the owner's index before it failed:
// the session is then listed there without being bound (a transient
// entry, see revocations).
func unboundLogins(s *state, in *input, m mark) []cand {
	o := in.owner
	values := []func(*token){func(v *token) { v.user = o }}
	if in.relax&relaxLostUpdate != 0 && m.loaded == cLive {
		values = append(values, func(v *token) { *v = m.val; v.user = o })
	}
	list := func(n *state, tok tokID) {
		n.idx[o].add(tok)
		n.ever[o].add(tok)
	}
	var cands []cand
	for _, change := range values {
		for _, listed := range []bool{false, true} {
			switch {
			case m.loaded == cLive && s.class(in.token) == cLive:
				prev := s.toks[in.token].owner
				cands = append(cands, cand{res: resOK, cookie: cookieSet, apply: func(n *state, tok tokID) {
					n.renew(in.token, tok, change, prev)
					if prev >= 0 {
						n.setMark(mark{op: int32(in.op), stage: 2, owner: o, stale: []entry{{prev, in.token}}})
					}
					if listed {
						list(n, tok)
					}
				}})
			case m.loaded == cLive:
				if to := s.target(in.token); to != 0 {
					cands = append(cands, cand{res: resOK, cookie: cookieKeep, apply: func(n *state, _ tokID) {
						if m.userChanged {
							n.toks[to].user = o
						}
						if listed {
							list(n, to)
						}
					}})
				}
			default:
				cands = append(cands, cand{res: resOK, cookie: cookieSet, apply: func(n *state, tok tokID) {
					n.create(tok, token{user: o}, -1)
					if listed {
						list(n, tok)
					}
				}})
			}
		}
	}
	return cands
}

// revokeStep: Revoke(id) ends the session of that ID as Destroy does:
// the token and every token renewed from it.
func revokeStep(s *state, in *input, out *output) []*state {
	cands := []cand{{res: resOK, cookie: cookieKeep, apply: func(n *state, _ tokID) { n.kill(in.target) }}}
	if in.relax&relaxForwardEnd != 0 && s.class(in.target) == cForward {
		cands = append(cands, cand{res: resOK, cookie: cookieKeep, apply: func(n *state, _ tokID) { n.killForwards(in.target) }})
	}
	if out.outcome == unknown {
		cands = append(cands, partialEnds(s, in.target, cands[0])...)
	}
	return resolve(s, in, out, func(*state) {}, cands)
}

// revokeOwnerStep: RevokeOwner(o) ends every session listed in o's index,
// following forwards, and answers how many live sessions it ended.
func revokeOwnerStep(s *state, in *input, out *output) []*state {
	m, ok := s.mark(in.op)
	if !ok {
		return nil
	}
	return resolve(s, in, out, retire(in.op), countEarly(m, revocations(s, in, out, in.owner, 0, 0)))
}

// revokeOthersWrite: RevokeOthers ends every other session of the owner
// of the loaded session, following forwards, and answers how many it
// ended; the current one stays listed. A session that was not live at the
// load, or not bound, has no others: 0.
//
// Allowed nondeterminism: when the current session was renewed (by a
// racing login of the same client) or ended after the load, the request
// may still revoke with the owner and ID it loaded, and the renewed
// session, listed under a new ID, may be ended with the others (LIFECYCLE
// follows every listed ID but the current one) or kept as the current
// one; or the request may notice and revoke nothing.
func revokeOthersWrite(s *state, in *input, out *output) []*state {
	m, ok := s.mark(in.op)
	if !ok {
		return nil
	}
	ck := loadCookie(m)
	none := cand{res: resOK, cookie: ck, apply: nothing}
	if m.loaded != cLive || m.owner < 0 {
		return resolve(s, in, out, retire(in.op), []cand{none})
	}
	cur := s.target(in.token)
	cands := countEarly(m, revocations(s, in, out, m.owner, in.token, cur))
	for i := range cands {
		cands[i].cookie = ck
	}
	if cur != in.token {
		cands = append(cands, none)
	}
	return resolve(s, in, out, retire(in.op), cands)
}

// A victim is a session a revocation may end, reached from an index
// entry (or, for a must, from its own record).
type victim struct {
	entry, end tokID
	choices    []int // what the revocation may do with it (see revocations)
}

// What a revocation does with a victim.
const (
	leave       = iota // nothing
	endIt              // end the entry and its chain: the session at its end ends (counted)
	endForwards        // delete the entry's forward records only: the session at the end stays
)

// revocations lists the candidate effects of revoking owner's sessions
// but keep (the current session of RevokeOthers; cur is the live end of
// its chain now).
//
// Every live session bound to owner ends but the current one. The index
// may also list, for a moment, IDs that a racing login is moving away: an
// old ID that now forwards to a session bound to another owner, or a
// session rebound to another owner, until that login's cleanup; and a
// login between its binding and its write may have listed the session it
// follows. LIFECYCLE.md follows every listed ID along its forwards, so
// such a session may end too (and is then counted); an implementation
// that checks the owner at the end of the chain leaves it, and may still
// delete the forward records on the way. Both are allowed, and only for
// such transient entries (logins in flight, or whose outcome is unknown).
// The same holds for a current session renewed after the load (see
// revokeOthersWrite).
//
// The revocation dooms every pending binding to owner, and leaves the
// owner's index with the current ID only (and a renewed current session,
// if kept).
func revocations(s *state, in *input, out *output, owner int8, keep, cur tokID) []cand {
	var victims []victim
	seen := map[tokID]bool{}
	add := func(v victim) {
		if !seen[v.entry] {
			seen[v.entry] = true
			victims = append(victims, v)
		}
	}
	for x, t := range s.toks {
		x := tokID(x)
		if t.kind == live && t.owner == owner && x != keep {
			if x == cur || unlistedBound(s, in, x, owner) {
				add(victim{entry: x, end: x, choices: []int{leave, endIt}})
			} else {
				add(victim{entry: x, end: x, choices: []int{endIt}})
			}
		}
	}
	for x := range s.toks {
		x := tokID(x)
		if !s.idx[owner].has(x) {
			continue
		}
		e, t := s.end(x)
		switch {
		case x == keep || t.kind != live:
		case x == e: // a live session listed here but bound to another owner now
			add(victim{entry: x, end: e, choices: []int{leave, endIt}})
		case t.owner == owner && e != cur && e != keep: // its end must end anyway
			add(victim{entry: x, end: e, choices: []int{leave, endForwards}})
		default:
			add(victim{entry: x, end: e, choices: []int{leave, endIt, endForwards}})
		}
	}
	for _, m := range s.marks {
		if int(m.op) == in.op || m.stage != 1 || m.owner != owner || s.class(m.tok) != cForward {
			continue
		}
		if e, t := s.end(m.tok); t.kind == live && t.owner != owner {
			add(victim{entry: e, end: e, choices: []int{leave, endIt}})
		}
	}

	picked := make([]int, len(victims))
	var cands []cand
	var walk func(i int)
	walk = func(i int) {
		if i < len(victims) {
			for _, c := range victims[i].choices {
				picked[i] = c
				walk(i + 1)
			}
			return
		}
		ended := map[tokID]bool{}
		for j, v := range victims {
			if picked[j] == endIt {
				ended[v.end] = true
			}
		}
		choice := slices.Clone(picked)
		cands = append(cands, cand{res: resOK, cookie: cookieKeep, n: len(ended), apply: func(n *state, _ tokID) {
			for j, v := range victims {
				switch choice[j] {
				case endIt:
					n.kill(v.entry)
				case endForwards:
					n.killForwards(v.entry)
				}
			}
			for x := range n.toks {
				x := tokID(x)
				if e, t := n.end(x); n.idx[owner].has(x) && x != keep && (e != cur || t.owner != owner) {
					n.idx[owner].del(x)
				}
			}
			n.doom(owner)
		}})
	}
	walk(0)
	if out.outcome == unknown {
		cands = append(cands, partialRevocations(victims, owner)...)
	}
	return cands
}

// doom marks every login between its binding to owner and its write: a
// revocation saw its pending binding and made its record a tombstone.
func (s *state) doom(owner int8) {
	for i, m := range s.marks {
		if m.stage == 1 && m.owner == owner {
			s.marks[i].doomed = true
		}
	}
}

// partialRevocations are the effects of a revocation that failed part of
// the way: each session it could end may have ended, or only the forward
// records on the way to it may be gone (the failure came between the two),
// or nothing; the index is as it was, and the pending bindings it saw may
// be doomed.
func partialRevocations(victims []victim, owner int8) []cand {
	type option struct {
		entry   tokID
		choices []int
	}
	var opts []option
	for _, v := range victims {
		choices := []int{leave}
		for _, c := range v.choices {
			if c != leave && !slices.Contains(choices, c) {
				choices = append(choices, c)
			}
		}
		if v.entry != v.end && !slices.Contains(choices, endForwards) {
			choices = append(choices, endForwards)
		}
		if len(choices) > 1 && len(opts) < 6 { // bounded: more is never generated
			opts = append(opts, option{v.entry, choices})
		}
	}
	var cands []cand
	picked := make([]int, len(opts))
	var walk func(i int)
	walk = func(i int) {
		if i < len(opts) {
			for _, c := range opts[i].choices {
				picked[i] = c
				walk(i + 1)
			}
			return
		}
		choice := slices.Clone(picked)
		for _, doom := range []bool{false, true} {
			cands = append(cands, cand{res: resOK, cookie: cookieKeep, apply: func(n *state, _ tokID) {
				for j, o := range opts {
					switch choice[j] {
					case endIt:
						n.kill(o.entry)
					case endForwards:
						n.killForwards(o.entry)
					}
				}
				if doom {
					n.doom(owner)
				}
			}})
		}
	}
	walk(0)
	return cands
}

// sessionsStep: Sessions(o) is not a snapshot (it reads the index, then
// each record). While other requests run, every session it lists must
// have been bound to o at some time before; at rest (a final entry) it
// lists exactly the live sessions of o, orphans counted by number (their
// IDs are unknown), and may list a session a login left in o's index
// while rebinding it (see revocations) if that login's outcome is
// unknown.
func sessionsStep(s *state, in *input, out *output) []*state {
	if out.outcome != known {
		return []*state{s}
	}
	o := in.owner
	// unseen counts the orphans in set that the listing did not name by a
	// known ID (an orphan some response set anyway has one).
	unseen := func(set func(tokID) bool) (n int) {
		for t := range s.toks {
			if set(tokID(t)) && s.u.isOrphan(tokID(t)) && !slices.Contains(out.listed, tokID(t)) {
				n++
			}
		}
		return n
	}
	if !in.final {
		for _, x := range out.listed {
			if !s.ever[o].has(x) {
				return nil
			}
		}
		if out.unlisted > unseen(s.ever[o].has) {
			return nil
		}
		return []*state{s}
	}
	must := func(x tokID) bool {
		t := s.toks[x]
		return t.kind == live && t.owner == o && !unlistedBound(s, in, x, o)
	}
	may := func(x tokID) bool {
		t := s.toks[x]
		return s.idx[o].has(x) && t.kind == live && t.owner != o
	}
	for _, x := range out.listed {
		if !must(x) && !may(x) {
			return nil
		}
	}
	for x := range s.toks {
		if must(tokID(x)) && !s.u.isOrphan(tokID(x)) && !slices.Contains(out.listed, tokID(x)) {
			return nil
		}
	}
	if out.unlisted < unseen(must) || out.unlisted > unseen(must)+unseen(may) {
		return nil
	}
	return []*state{s}
}
