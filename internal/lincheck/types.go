package lincheck

import (
	"fmt"
	"strings"
)

// Value is the session value of the checked application.
type Value struct {
	A, B int
	User string // the owner the session logged in as
}

// A Kind is an operation a client performs.
type Kind uint8

const (
	Read         Kind = iota // the session's value and ID
	Set                      // set a field: a plain change, saved by the middleware
	Incr                     // increment a field with Update; answers the new value
	Login                    // Renew, then SetOwner(owner) with User = owner
	Logout                   // Destroy
	Revoke                   // Revoke another client's session by ID
	RevokeOwner              // RevokeOwner(owner); answers how many
	RevokeOthers             // RevokeOthers; answers how many
	Sessions                 // Sessions(owner); answers the IDs
	numKinds
)

var kindNames = [...]string{"read", "set", "incr", "login", "logout", "revoke", "revokeowner", "revokeothers", "sessions"}

func (k Kind) String() string { return kindNames[k] }

// loads reports whether the handler of k loads the request's session.
// Revoke, RevokeOwner and Sessions are an administrator's requests: they
// carry no cookie.
func (k Kind) loads() bool { return k != Revoke && k != RevokeOwner && k != Sessions }

// A stepKind is the part of an operation a history entry stands for.
type stepKind uint8

const (
	stepOnly    stepKind = iota // an operation that is one entry (read, revoke, revokeowner, sessions)
	stepLoad                    // the first load of the session
	stepBind                    // login: SetOwner adds the new ID to the owner's index
	stepWrite                   // the operation's write (its effect)
	stepCleanup                 // login: the old ID leaves the previous owner's index
	stepSweep                   // revokeowner, revokeothers: the revocation begins
)

var stepNames = [...]string{"", "load", "bind", "write", "cleanup", "begins"}

// input is the model's input of a history entry. Tokens are numbered in
// the history's universe.
type input struct {
	op   int // the operation, unique in the history
	step stepKind
	// faulted: a store fault was injected into the operation (whatever
	// its outcome): a forward it deleted may still be there.
	faulted bool
	kind    Kind
	token   tokID // the token presented, 0 for none
	field   int   // set, incr: 0 A, 1 B
	x       int   // set: the value
	owner   int8  // login, revokeowner, sessions
	target  tokID // revoke: the token whose ID is revoked
	orphan  tokID // the token this operation creates if no client receives it
	early   bool  // the handler starts the response before changing the session
	final   bool  // a check at rest, after every operation returned
	relax   relaxation
}

// result is what the handler's call returned.
type result uint8

const (
	resOK       result = iota
	resConflict        // an error wrapping sessions.ErrSessionChanged: 409
	resStarted         // sessions.ErrResponseStarted
)

var resultNames = [...]string{"ok", "conflict", "started"}

func (r result) String() string { return resultNames[r] }

// cookieAction is what a response did with the session cookie.
type cookieAction uint8

const (
	cookieKeep   cookieAction = iota // nothing
	cookieSet                        // set to a new token
	cookieExpire                     // deleted
)

// outcome is how much the client could know of an operation's effect.
type outcome uint8

const (
	known    outcome = iota // the response (or, when the client hung up, the response it would have got)
	panicked                // the handler panicked after its call succeeded: no response
	unknown                 // an error response, or a fault after the response started
)

// output is the model's output of a history entry: the whole operation's
// observed outcome (its load and bind entries ignore it). Tokens are
// numbered in the history's universe.
type output struct {
	outcome  outcome
	strict   bool // panicked with no store fault: the manager must have ended a new token
	result   result
	cookie   cookieAction
	token    tokID   // the token set
	val      Value   // read
	id       tokID   // read: the token whose ID the request had, 0 for none
	n        int     // incr: the new value; revokeowner, revokeothers: how many
	listed   []tokID // sessions: the tokens of the listed IDs
	unlisted int     // sessions: listed IDs of no token any client saw
}

// describe describes in with the token names of u.
func (in *input) describe(u *universe) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %v", in.op, in.kind)
	switch in.kind {
	case Set:
		fmt.Fprintf(&b, " %c=%d", "AB"[in.field], in.x)
	case Incr:
		fmt.Fprintf(&b, " %c", "AB"[in.field])
	case Login, RevokeOwner, Sessions:
		b.WriteString(" " + ownerName(in.owner))
	case Revoke:
		b.WriteString(" id(" + u.name(in.target) + ")")
	}
	if in.kind.loads() {
		tok := u.name(in.token)
		if tok == "" {
			tok = "-"
		}
		b.WriteString(" [" + tok + "]")
	}
	if in.early {
		b.WriteString(" early")
	}
	if in.final {
		b.WriteString(" at rest")
	}
	if in.step != stepOnly {
		b.WriteString(" " + stepNames[in.step])
	}
	return b.String()
}

// describe describes out, the output of an operation of kind, with the
// token names of u.
func (out *output) describe(kind Kind, u *universe) string {
	switch out.outcome {
	case unknown:
		return "unknown outcome"
	case panicked:
		s := "panicked after " + out.result.String()
		if kind == Incr {
			s += fmt.Sprintf(" n=%d", out.n)
		}
		if out.strict {
			s += " (no fault)"
		}
		return s
	}
	var b strings.Builder
	b.WriteString(out.result.String())
	switch kind {
	case Read:
		fmt.Fprintf(&b, " %d,%d,%q id=%q", out.val.A, out.val.B, out.val.User, u.name(out.id))
	case Incr, RevokeOwner, RevokeOthers:
		if out.result == resOK {
			fmt.Fprintf(&b, " n=%d", out.n)
		}
	case Sessions:
		names := make([]string, len(out.listed))
		for i, t := range out.listed {
			names[i] = u.name(t)
		}
		fmt.Fprintf(&b, " [%s]", strings.Join(names, " "))
		if out.unlisted > 0 {
			fmt.Fprintf(&b, " +%d unknown", out.unlisted)
		}
	}
	switch out.cookie {
	case cookieSet:
		b.WriteString(", cookie " + u.name(out.token))
	case cookieExpire:
		b.WriteString(", cookie expired")
	}
	return b.String()
}
