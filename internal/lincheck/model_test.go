package lincheck

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// A script builds a history by hand, for testing the model: each do is
// an operation after every earlier one; during runs operations whose
// parts interleave as the windows say.
type script struct {
	u       *universe
	entries []porcupine.Operation
	ops     int
	now     int64
}

func newScript() *script { return &script{u: newUniverse()} }

// tok returns the number of the token named name.
func (s *script) tok(name string) tokID { return s.u.id(name) }

// add appends operation in with output out, its parts in window w.
func (s *script) add(in input, out output, w window) {
	in.op = s.ops
	in.orphan = s.u.id(orphan(s.ops))
	s.ops++
	s.entries = appendEntries(s.entries, in, &out, w, 0, "")
	s.now = max(s.now, w.done)
}

// do appends an operation that runs alone, after every earlier one.
func (s *script) do(in input, out output) {
	t := s.now
	s.add(in, out, window{call: t + 1, loaded: t + 2, change: t + 3, done: t + 4})
}

// check returns porcupine's verdict on the history.
func (s *script) check() porcupine.CheckResult {
	return porcupine.CheckOperationsTimeout(newModel(s.u), s.entries, 10*time.Second)
}

func ok() output { return output{outcome: known, result: resOK} }

func withCookie(out output, c cookieAction, tok tokID) output {
	out.cookie, out.token = c, tok
	return out
}

func read(v Value, id tokID, c cookieAction) output {
	out := ok()
	out.val, out.id, out.cookie = v, id, c
	return out
}

func count(n int) output {
	out := ok()
	out.n = n
	return out
}

func listed(toks ...tokID) output {
	out := ok()
	out.listed = toks
	return out
}

// A session's life: created by a change, logged in (renewed: the old
// token forwards to the new one), counted, listed, logged out.
func TestModelAcceptsTheLifecycle(t *testing.T) {
	s := newScript()
	t1, t2 := s.tok("t1"), s.tok("t2")
	s.do(input{kind: Set, x: 3}, withCookie(ok(), cookieSet, t1))
	s.do(input{kind: Read, token: t1}, read(Value{A: 3}, t1, cookieKeep))
	s.do(input{kind: Login, token: t1, owner: 0}, withCookie(ok(), cookieSet, t2))
	s.do(input{kind: Read, token: t1}, read(Value{}, 0, cookieKeep)) // a forward: empty, cookie kept
	s.do(input{kind: Read, token: t2}, read(Value{A: 3, User: "o1"}, t2, cookieKeep))
	s.do(input{kind: Incr, token: t2}, count(4))
	s.do(input{kind: Sessions, owner: 0, final: true}, listed(t2))
	s.do(input{kind: Logout, token: t2}, withCookie(ok(), cookieExpire, 0))
	s.do(input{kind: Read, token: t2}, read(Value{}, 0, cookieExpire))
	s.do(input{kind: Read, token: t1}, read(Value{}, 0, cookieKeep)) // still a forward, to an ended session
	s.do(input{kind: Sessions, owner: 0, final: true}, listed())
	if got := s.check(); got != porcupine.Ok {
		t.Fatalf("the lifecycle is %v", got)
	}
}

// Each case is a history with the behavior LIFECYCLE.md asks for (good)
// and one with a known bug (bad): the model must accept the first and
// reject the second.
func TestModelRejectsTheKnownBugs(t *testing.T) {
	for _, tc := range []struct {
		name string
		// history builds the history; bad chooses the buggy variant.
		history func(s *script, bad bool)
	}{
		{"a renewed-away token stays live", func(s *script, bad bool) {
			t1, t2 := s.tok("t1"), s.tok("t2")
			s.do(input{kind: Set, x: 3}, withCookie(ok(), cookieSet, t1))
			s.do(input{kind: Login, token: t1}, withCookie(ok(), cookieSet, t2))
			if bad {
				s.do(input{kind: Read, token: t1}, read(Value{A: 3}, t1, cookieKeep))
			} else {
				s.do(input{kind: Read, token: t1}, read(Value{}, 0, cookieKeep))
			}
		}},
		{"a renewed-away token reads as ended", func(s *script, bad bool) {
			t1, t2 := s.tok("t1"), s.tok("t2")
			s.do(input{kind: Set, x: 3}, withCookie(ok(), cookieSet, t1))
			s.do(input{kind: Login, token: t1}, withCookie(ok(), cookieSet, t2))
			s.do(input{kind: Read, token: t1}, read(Value{}, 0, map[bool]cookieAction{false: cookieKeep, true: cookieExpire}[bad]))
		}},
		{"Renew loses a concurrent Update's increment", func(s *script, bad bool) {
			t1, t2 := s.tok("t1"), s.tok("t2")
			s.do(input{kind: Set, x: 3}, withCookie(ok(), cookieSet, t1))
			// Both load t1; the increment is written while the login runs.
			s.add(input{kind: Incr, token: t1}, count(4), window{call: 10, loaded: 11, change: 12, done: 20})
			s.add(input{kind: Login, token: t1}, withCookie(ok(), cookieSet, t2), window{call: 10, loaded: 11, change: 12, done: 20})
			a := 4
			if bad {
				a = 3
			}
			s.do(input{kind: Read, token: t2}, read(Value{A: a, User: "o1"}, t2, cookieKeep))
		}},
		{"a Destroy misses a concurrent Renew", func(s *script, bad bool) {
			t1, t2 := s.tok("t1"), s.tok("t2")
			s.do(input{kind: Set, x: 3}, withCookie(ok(), cookieSet, t1))
			// The logout loads t1 before the login's write and destroys
			// after it: the renewed session must end too.
			s.add(input{kind: Logout, token: t1}, withCookie(ok(), cookieExpire, 0), window{call: 10, loaded: 11, change: 30, done: 31})
			s.add(input{kind: Login, token: t1}, withCookie(ok(), cookieSet, t2), window{call: 12, loaded: 13, change: 14, done: 15})
			if bad {
				s.do(input{kind: Read, token: t2}, read(Value{A: 3, User: "o1"}, t2, cookieKeep))
			} else {
				s.do(input{kind: Read, token: t2}, read(Value{}, 0, cookieExpire))
			}
		}},
		{"the loser of two concurrent logins expires the cookie", func(s *script, bad bool) {
			t1, t2 := s.tok("t1"), s.tok("t2")
			s.do(input{kind: Set, x: 3}, withCookie(ok(), cookieSet, t1))
			s.add(input{kind: Login, token: t1}, withCookie(ok(), cookieSet, t2), window{call: 10, loaded: 11, change: 12, done: 20})
			loser := withCookie(ok(), cookieKeep, 0) // follows the forward to t2
			if bad {
				loser = withCookie(ok(), cookieExpire, 0)
			}
			s.add(input{kind: Login, token: t1}, loser, window{call: 10, loaded: 11, change: 12, done: 20})
		}},
		{"a panicked login leaves the old token live", func(s *script, bad bool) {
			t1 := s.tok("t1")
			s.do(input{kind: Set, x: 3}, withCookie(ok(), cookieSet, t1))
			s.do(input{kind: Login, token: t1}, output{outcome: panicked, strict: true, result: resOK})
			if bad {
				s.do(input{kind: Read, token: t1}, read(Value{A: 3}, t1, cookieKeep))
			} else {
				s.do(input{kind: Read, token: t1}, read(Value{}, 0, cookieKeep))
			}
		}},
		{"a panicked login's new session stays live", func(s *script, bad bool) {
			s.do(input{kind: Login, owner: 0}, output{outcome: panicked, strict: true, result: resOK})
			out := listed()
			if bad {
				out.unlisted = 1
			}
			s.do(input{kind: Sessions, owner: 0, final: true}, out)
		}},
		{"RevokeOwner misses a session", func(s *script, bad bool) {
			t1 := s.tok("t1")
			s.do(input{kind: Login, owner: 1}, withCookie(ok(), cookieSet, t1))
			n := 1
			if bad {
				n = 0
			}
			s.do(input{kind: RevokeOwner, owner: 1}, count(n))
		}},
		{"RevokeOwner leaves a session live after it returns", func(s *script, bad bool) {
			t1, t2 := s.tok("t1"), s.tok("t2")
			s.do(input{kind: Login, owner: 1}, withCookie(ok(), cookieSet, t1))
			s.do(input{kind: Login, owner: 1}, withCookie(ok(), cookieSet, t2))
			// While the revocation runs, it has ended t1 and not yet t2
			// (it ends them one after another)...
			s.add(input{kind: RevokeOwner, owner: 1}, count(2), window{call: 10, loaded: 10, change: 11, done: 20})
			s.add(input{kind: Read, token: t1}, read(Value{}, 0, cookieExpire), window{call: 12, loaded: 13, change: 13, done: 13})
			s.add(input{kind: Read, token: t2}, read(Value{User: "o2"}, t2, cookieKeep), window{call: 14, loaded: 15, change: 15, done: 15})
			// ...but once it returned, both are ended.
			if bad {
				s.do(input{kind: Read, token: t2}, read(Value{User: "o2"}, t2, cookieKeep))
			} else {
				s.do(input{kind: Read, token: t2}, read(Value{}, 0, cookieExpire))
			}
		}},
		{"Revoke does not follow the forward", func(s *script, bad bool) {
			t1, t2 := s.tok("t1"), s.tok("t2")
			s.do(input{kind: Set, x: 3}, withCookie(ok(), cookieSet, t1))
			s.do(input{kind: Login, token: t1}, withCookie(ok(), cookieSet, t2))
			s.do(input{kind: Revoke, target: t1}, ok())
			if bad {
				s.do(input{kind: Read, token: t2}, read(Value{A: 3, User: "o1"}, t2, cookieKeep))
			} else {
				s.do(input{kind: Read, token: t2}, read(Value{}, 0, cookieExpire))
			}
		}},
		{"a change racing a Renew is dropped", func(s *script, bad bool) {
			t1, t2 := s.tok("t1"), s.tok("t2")
			s.do(input{kind: Set, x: 3}, withCookie(ok(), cookieSet, t1))
			// The set loads t1 before the login and writes after it: it
			// follows the forward.
			s.add(input{kind: Set, token: t1, field: 1, x: 5}, ok(), window{call: 10, loaded: 11, change: 30, done: 31})
			s.add(input{kind: Login, token: t1}, withCookie(ok(), cookieSet, t2), window{call: 12, loaded: 13, change: 14, done: 15})
			b := 5
			if bad {
				b = 0
			}
			s.do(input{kind: Read, token: t2}, read(Value{A: 3, B: b, User: "o1"}, t2, cookieKeep))
		}},
		{"Sessions at rest lists an ended session", func(s *script, bad bool) {
			t1, t2 := s.tok("t1"), s.tok("t2")
			s.do(input{kind: Login, owner: 0}, withCookie(ok(), cookieSet, t1))
			s.do(input{kind: Login, owner: 0}, withCookie(ok(), cookieSet, t2))
			s.do(input{kind: Logout, token: t1}, withCookie(ok(), cookieExpire, 0))
			if bad {
				s.do(input{kind: Sessions, owner: 0, final: true}, listed(t1, t2))
			} else {
				s.do(input{kind: Sessions, owner: 0, final: true}, listed(t2))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, bad := range []bool{false, true} {
				s := newScript()
				tc.history(s, bad)
				want := porcupine.Ok
				if bad {
					want = porcupine.Illegal
				}
				if got := s.check(); got != want {
					t.Errorf("bad=%t: %v, want %v", bad, got, want)
				}
			}
		})
	}
}

// An operation whose client cannot know its outcome may have had any of
// its effects: a login that failed with an error may have renewed the
// session (the new token an orphan, counted by Sessions) or not.
func TestModelAllowsEveryEffectOfAnUnknownOutcome(t *testing.T) {
	for _, renewed := range []bool{false, true} {
		s := newScript()
		t1 := s.tok("t1")
		s.do(input{kind: Set, x: 3}, withCookie(ok(), cookieSet, t1))
		s.do(input{kind: Login, token: t1, owner: 0}, output{outcome: unknown})
		out := listed()
		if renewed {
			s.do(input{kind: Read, token: t1}, read(Value{}, 0, cookieKeep))
			out.unlisted = 1
		} else {
			s.do(input{kind: Read, token: t1}, read(Value{A: 3}, t1, cookieKeep))
		}
		s.do(input{kind: Sessions, owner: 0, final: true}, out)
		if got := s.check(); got != porcupine.Ok {
			t.Errorf("renewed=%t: %v", renewed, got)
		}
	}
}
