package lincheck

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// A verdict is what the checker found in one history.
type verdict struct {
	ops, entries int
	outcomes     [3]int // by outcome: known, panicked, unknown
	hungUp       int
	faults       [numFaultKinds]int
	panics       int // handlers that panicked
	early        int // handlers that started the response first
	violations   []violation
	names        *names
	diagnosis    []string // for a history porcupine rejected: the rules it broke (see diagnose)
	explained    bool     // diagnose found relaxations under which it passes
	diagnosed    bool     // diagnose ran
	result       porcupine.CheckResult
	info         porcupine.LinearizationInfo
	entryList    []porcupine.Operation
	checkTime    time.Duration
}

// failed reports whether the history broke the model or a rule at rest.
func (v *verdict) failed() bool { return len(v.violations) > 0 }

// A check is one of the checker's verdicts on a history.
type check string

// The checks.
const (
	checkModel        check = "not linearizable against the model (LIFECYCLE.md)"
	checkUndecided    check = "porcupine could not decide in time"
	checkLoginExpired check = "a login of a live session expired the cookie"
	checkReplacedLive check = "a token its own request replaced or expired is still live"
	checkRacingLogins check = "two racing logins left the client without a live cookie"
	checkHarness      check = "the harness saw what the model takes for granted broken"
)

// checks lists the checks in the order reports list them.
var checks = []check{checkModel, checkUndecided, checkLoginExpired, checkReplacedLive, checkRacingLogins, checkHarness}

// A violation is a check a history failed, and how.
type violation struct {
	check check
	what  string
}

// names numbers the tokens of a history: t1, t2, ... in the order the
// server handed them out, and the orphan of every operation (see
// universe). A token that an operation of unknown outcome set anyway is
// named as that operation's orphan, which is what the model calls the
// token such an operation creates. It also maps session IDs back to the
// tokens.
type names struct {
	u       *universe
	byToken map[string]tokID
	byID    map[string]tokID
}

func (h *history) names() *names {
	n := &names{u: newUniverse(), byToken: map[string]tokID{}, byID: map[string]tokID{}}
	for _, o := range h.ops {
		action, tok := sessionCookie(o.srv.setCookie)
		if action != cookieSet || n.byToken[tok] != 0 {
			continue
		}
		name := "t" + strconv.Itoa(len(n.byToken)+1)
		if h.rawOutcome(o) != known {
			name = orphan(o.id)
		}
		n.byToken[tok] = n.u.id(name)
		n.byID[idOf(tok)] = n.byToken[tok]
	}
	for _, o := range h.ops {
		n.u.id(orphan(o.id))
		n.token(o.token)
		n.token(o.target)
		h.output(o, n) // numbers the unknown IDs a read returned
	}
	return n
}

// token returns the number of tok: 0 for none; a token no response set
// (which the model never issued) gets a name of its own.
func (n *names) token(tok string) tokID {
	if tok == "" {
		return 0
	}
	if t, ok := n.byToken[tok]; ok {
		return t
	}
	return n.u.id("?" + tok[:6])
}

// rawOutcome classifies what the client could know of o: the handler
// panicked; the response was an error (5xx, or a body that is not the
// handler's result); or a handler that had already started its response,
// which can no longer report a failed save, met a store fault or had an
// error logged; else known.
func (h *history) rawOutcome(o *op) outcome {
	r := &o.srv
	if r.panicked {
		return panicked
	}
	v, err := url.ParseQuery(r.body.String())
	switch {
	case err != nil || r.status >= 500 || !slices.Contains([]string{"ok", "conflict", "started"}, v.Get("r")):
		return unknown
	case o.plan.early && (o.faulted.Load() != 0 || o.errors):
		return unknown
	}
	return known
}

// output is the model's view of what o observed.
func (h *history) output(o *op, l *names) *output {
	r := &o.srv
	out := &output{outcome: h.rawOutcome(o)}
	switch out.outcome {
	case panicked:
		out.strict = o.faulted.Load() == 0
		out.n = r.n
		return out
	case unknown:
		return out
	}
	v, _ := url.ParseQuery(r.body.String())
	out.result = map[string]result{"ok": resOK, "conflict": resConflict, "started": resStarted}[v.Get("r")]
	var tok string
	out.cookie, tok = sessionCookie(r.setCookie)
	out.token = l.token(tok)
	out.n, _ = strconv.Atoi(v.Get("n"))
	out.val.A, _ = strconv.Atoi(v.Get("a"))
	out.val.B, _ = strconv.Atoi(v.Get("b"))
	out.val.User = v.Get("user")
	if id := v.Get("id"); id != "" {
		var ok bool
		if out.id, ok = l.byID[id]; !ok {
			out.id = l.u.id("?id:" + id[:6]) // never issued: no live token has it
		}
	}
	if ids := v.Get("ids"); ids != "" {
		for id := range strings.SplitSeq(ids, ",") {
			if t, ok := l.byID[id]; ok {
				out.listed = append(out.listed, t)
			} else {
				out.unlisted++
			}
		}
		slices.Sort(out.listed)
	}
	return out
}

// entries turns the operations into porcupine's history (see
// appendEntries).
func (h *history) entries(l *names, relax relaxation) []porcupine.Operation {
	var entries []porcupine.Operation
	for _, o := range h.ops {
		in := h.input(o, l)
		in.relax = relax
		r := &o.srv
		w := window{call: o.call, loaded: r.loaded, change: r.change, done: r.done}
		entries = appendEntries(entries, in, h.output(o, l), w, o.lane, h.metadata(o))
	}
	return entries
}

// A window is when the parts of an operation happened, on the checker's
// clock: the request was sent (call), Get returned (loaded), the handler
// went on to change the session (change), the handler returned (done).
type window struct{ call, loaded, change, done int64 }

// appendEntries appends the history entries of one operation. Each
// entry's window is when it can have happened: a load between the
// request's sending and Get's return; a write, binding or cleanup between
// the handler going on to change the session and the handler's end (so
// the window of a client that hung up or of a panicked handler ends too);
// an administrator's call between its start and the handler's end.
func appendEntries(entries []porcupine.Operation, in input, out *output, w window, lane int, md string) []porcupine.Operation {
	add := func(s stepKind, call, ret int64) {
		in := in
		in.step = s
		entries = append(entries, porcupine.Operation{
			ClientId: lane, Input: &in, Output: out, Call: call, Return: max(ret, call), Metadata: md,
		})
	}
	switch in.kind {
	case Read:
		add(stepOnly, w.call, w.loaded)
	case RevokeOwner:
		add(stepSweep, w.change, w.done)
		add(stepOnly, w.change, w.done)
	case RevokeOthers:
		add(stepLoad, w.call, w.loaded)
		add(stepSweep, w.change, w.done)
		add(stepWrite, w.change, w.done)
	case Revoke, Sessions:
		add(stepOnly, w.change, w.done)
	case Login:
		add(stepLoad, w.call, w.loaded)
		if !in.early {
			add(stepBind, w.change, w.done)
			add(stepCleanup, w.change, w.done)
		}
		add(stepWrite, w.change, w.done)
	default:
		add(stepLoad, w.call, w.loaded)
		add(stepWrite, w.change, w.done)
	}
	return entries
}

// input is the model's input of o (the step aside).
func (h *history) input(o *op, l *names) input {
	in := input{
		op: o.id, kind: o.plan.kind, token: l.token(o.token), field: o.plan.field, x: o.plan.x,
		owner: o.plan.owner, target: l.token(o.target), orphan: l.u.id(orphan(o.id)), early: o.plan.early, final: o.final,
		faulted: o.faulted.Load() != 0,
	}
	if !o.plan.kind.loads() {
		in.token = 0 // sent without the cookie
	}
	return in
}

// metadata describes what happened to o beyond its input and output.
func (h *history) metadata(o *op) string {
	var notes []string
	if o.client >= 0 {
		notes = append(notes, fmt.Sprintf("client %d", o.client))
	}
	switch k := o.faulted.Load(); {
	case k == int32(storeError)+1:
		notes = append(notes, "a store call failed (not injected)")
	case k != 0:
		notes = append(notes, fmt.Sprintf("fault %v at store call %d", faultKind(k-1), o.plan.fault.call))
	}
	if o.plan.panics {
		notes = append(notes, "panics")
	}
	if o.plan.hangUp {
		notes = append(notes, "hangs up")
	}
	if o.srv.status != 0 {
		notes = append(notes, fmt.Sprintf("status %d", o.srv.status))
	}
	for _, line := range o.logs {
		notes = append(notes, "logged: "+line)
	}
	return strings.Join(notes, ", ")
}

// check checks the history: porcupine against the model, then the rules
// at rest that need no model. It does not diagnose a failure (see
// diagnose).
func (h *history) check(timeout time.Duration) *verdict {
	v := &verdict{}
	l := h.names()
	v.names = l
	for _, o := range h.ops {
		if o.final {
			continue
		}
		v.ops++
		v.outcomes[h.rawOutcome(o)]++
		if k := o.faulted.Load(); k != 0 {
			v.faults[k-1]++
		}
		if o.srv.panicked {
			v.panics++
		}
		if o.plan.early {
			v.early++
		}
		if o.plan.hangUp && o.ret == 0 {
			v.hungUp++
		}
	}
	v.violations = append(v.violations, h.harness(l)...)
	v.entryList = h.entries(l, 0)
	v.entries = len(v.entryList)
	start := time.Now()
	v.result, v.info = porcupine.CheckOperationsVerbose(newModel(l.u), v.entryList, timeout)
	v.checkTime = time.Since(start)
	switch v.result {
	case porcupine.Illegal:
		v.violations = append(v.violations, violation{checkModel, "\n" + explain(l.u, v.info, v.entryList)})
	case porcupine.Unknown:
		v.violations = append(v.violations, violation{checkUndecided, fmt.Sprintf("within %v (raise Config.CheckTimeout or shrink the history)", timeout)})
	}
	v.violations = append(v.violations, h.atRest(l)...)
	return v
}

// harness checks what the model takes for granted: every request reached
// its handler; the client saw what the server sent; Manager.ID is the ID
// derived from the token.
func (h *history) harness(l *names) []violation {
	var bad []violation
	for _, o := range h.ops {
		r := &o.srv
		switch {
		case !r.reached:
			bad = append(bad, violation{checkHarness, fmt.Sprintf("%v never reached its handler: %v", o, o.err)})
		case o.ret != 0:
			action, tok := sessionCookie(r.setCookie)
			if o.status != r.status || o.cookie != action || o.cookieVal != tok {
				bad = append(bad, violation{checkHarness, fmt.Sprintf("%v: the client got %d %v %q, the server sent %d %v %q",
					o, o.status, o.cookie, o.cookieVal, r.status, action, tok)})
			}
		}
		if o.plan.kind == Read && o.token != "" && r.loadedID != "" && r.loadedID != idOf(o.token) {
			bad = append(bad, violation{checkHarness, fmt.Sprintf("%v: Manager.ID is %s, not the SHA-256 of the token presented", o, r.loadedID)})
		}
	}
	return bad
}

// atRest checks, at rest, the rules of LIFECYCLE.md that need no model
// (the model implies them; these say plainly what broke):
//
//   - a login that loaded a live session never expires the cookie (after
//     two racing logins the browser holds a live session whichever
//     response arrives last);
//   - a token still live at rest is held by its client, or was never
//     delivered (its client hung up), or was displaced by the response to
//     a request that did not present it (a racing tab): a request that
//     presented it and replaced or expired it ended it;
//   - after two overlapping logins of one client's live session whose
//     responses were the last to reach it, the client holds a cookie, live
//     unless a session ender (logout, revoke, revocations) ran since.
func (h *history) atRest(l *names) []violation {
	var bad []violation
	liveAtRest := map[string]bool{}
	for _, o := range h.ops {
		if o.final && o.plan.kind == Read && h.rawOutcome(o) == known {
			v, _ := url.ParseQuery(o.srv.body.String())
			liveAtRest[o.token] = v.Get("id") != ""
		}
	}
	for _, o := range h.ops {
		if o.plan.kind == Login && !o.final && h.rawOutcome(o) == known && o.srv.loadedID != "" {
			if action, _ := sessionCookie(o.srv.setCookie); action == cookieExpire {
				bad = append(bad, violation{checkLoginExpired, fmt.Sprintf("%v (presenting %s, live when loaded)", o, l.u.name(l.token(o.token)))})
			}
		}
	}
	held := map[string]bool{}
	for _, b := range h.clients {
		held[b.jar] = true
	}
	for c, b := range h.clients {
		for i, e := range b.events {
			if e.value == "" || held[e.value] || !liveAtRest[e.value] || i+1 == len(b.events) {
				continue
			}
			next := b.events[i+1]
			if next.op.token == e.value {
				what := "expired it"
				if next.value != "" {
					what = "replaced it with " + l.u.name(l.token(next.value))
				}
				bad = append(bad, violation{checkReplacedLive, fmt.Sprintf("%s is still live at rest, but client %d's %v presented it and %s",
					l.u.name(l.token(e.value)), c, next.op, what)})
			}
		}
		bad = append(bad, h.racingLogins(c, b, liveAtRest, l)...)
	}
	return bad
}

// racingLogins checks the last two responses client c got, if they were
// two overlapping logins.
func (h *history) racingLogins(c int, b *browser, liveAtRest map[string]bool, l *names) []violation {
	var mine []*op
	for _, o := range h.ops {
		if o.client == c && o.ret != 0 {
			mine = append(mine, o)
		}
	}
	slices.SortFunc(mine, func(a, b *op) int { return int(a.ret - b.ret) })
	if len(mine) < 2 {
		return nil
	}
	l1, l2 := mine[len(mine)-2], mine[len(mine)-1]
	if l1.plan.kind != Login || l2.plan.kind != Login || l1.plan.early || l2.plan.early || l2.call > l1.ret ||
		h.rawOutcome(l1) != known || h.rawOutcome(l2) != known || l1.srv.loadedID == "" || l2.srv.loadedID == "" {
		return nil // not two racing logins of a live session
	}
	if h.output(l1, l).result != resOK && h.output(l2, l).result != resOK {
		return nil
	}
	if b.jar == "" {
		return []violation{{checkRacingLogins, fmt.Sprintf("client %d ended without a cookie after %v and %v", c, l1, l2)}}
	}
	for _, o := range h.ops {
		switch o.plan.kind {
		case Logout, Revoke, RevokeOwner, RevokeOthers:
			if !o.final && (o.srv.done == 0 || o.srv.done > min(l1.call, l2.call)) {
				return nil // may have ended it
			}
		}
	}
	if !liveAtRest[b.jar] {
		return []violation{{checkRacingLogins, fmt.Sprintf("client %d's cookie %s, from %v and %v, is not live at rest", c, l.u.name(l.token(b.jar)), l1, l2)}}
	}
	return nil
}

// explain describes where porcupine got stuck: the longest prefix of the
// history it could linearize, the model's states after it, and the
// entries none of which could come next.
func explain(u *universe, info porcupine.LinearizationInfo, entries []porcupine.Operation) string {
	partial := info.PartialLinearizations()
	if len(partial) == 0 || len(partial[0]) == 0 {
		return "  (no partial linearization)"
	}
	longest := slices.MaxFunc(partial[0], func(a, b []int) int { return len(a) - len(b) })
	states := []*state{initState(u)}
	done := map[int]bool{}
	for _, i := range longest {
		e := entries[i]
		var next []*state
		for _, s := range states {
			next = append(next, step(s, e.Input.(*input), e.Output.(*output))...)
		}
		states = dedup(next)
		done[i] = true
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  linearized %d of %d entries; the last ones:\n", len(longest), len(entries))
	for _, i := range longest[max(0, len(longest)-8):] {
		fmt.Fprintf(&b, "    %s\n", describe(u, entries[i]))
	}
	fmt.Fprintf(&b, "  the model's states then (%d):\n", len(states))
	for _, s := range states[:min(len(states), 4)] {
		fmt.Fprintf(&b, "    %s\n", s)
	}
	horizon := int64(1 << 62)
	for i, e := range entries {
		if !done[i] {
			horizon = min(horizon, e.Return)
		}
	}
	b.WriteString("  none of these fits next:\n")
	for i, e := range entries {
		if !done[i] && e.Call <= horizon {
			fmt.Fprintf(&b, "    %s\n", describe(u, e))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// describe describes a history entry.
func describe(u *universe, e porcupine.Operation) string {
	in := e.Input.(*input)
	s := in.describe(u) + " → " + e.Output.(*output).describe(in.kind, u)
	if md, _ := e.Metadata.(string); md != "" {
		s += " (" + md + ")"
	}
	return s
}
