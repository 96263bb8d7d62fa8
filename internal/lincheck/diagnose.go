package lincheck

import (
	"time"

	"github.com/anishathalye/porcupine"
)

// relaxedLogins are the extra effects of a login's write under the
// relaxations in.relax.
func relaxedLogins(s *state, in *input, out *output, m mark) []cand {
	expired := []cand{ // the new session ended, and with it the old one, or not
		{res: resOK, cookie: cookieExpire, apply: nothing},
		{res: resOK, cookie: cookieExpire, apply: func(n *state, _ tokID) { n.kill(in.token) }},
	}
	if m.loaded != cLive {
		if in.relax&relaxLoginExpire != 0 && m.doomed {
			return expired
		}
		return nil
	}
	t := s.toks[in.token]
	values := []token{t}
	if t.kind != live {
		values[0] = m.val // the loaded value; the owner is lost
	}
	if in.relax&relaxLostUpdate != 0 {
		values = append(values, m.val)
	}
	var cands []cand
	for _, v := range values {
		if in.relax&relaxRenewedLive != 0 && out.outcome != known {
			// The new session written, the old one left live (and
			// perhaps dropped from its owner's index) or gone.
			nv := v
			nv.user = in.owner
			for _, old := range []int{0, 1, 2} {
				cands = append(cands, cand{res: resOK, cookie: cookieSet, apply: func(n *state, tok tokID) {
					n.create(tok, nv, in.owner)
					switch {
					case old == 1 && t.kind == live && t.owner >= 0:
						n.idx[t.owner].del(in.token)
					case old == 2:
						n.kill(in.token)
					}
				}})
			}
		}
		if in.relax&relaxUnlistedRenew != 0 && out.outcome == unknown && t.kind == live {
			// The failed Renew saved: User unchanged, bound to the old
			// owner, listed or not.
			for _, listed := range []bool{false, true} {
				cands = append(cands, cand{res: resOK, cookie: cookieSet, apply: func(n *state, tok tokID) {
					n.renew(in.token, tok, func(nv *token) { *nv = v }, -1)
					if listed {
						n.bind(tok, t.owner)
					} else {
						n.toks[tok].owner = t.owner
					}
				}})
			}
		}
	}
	if in.relax&relaxLoginExpire != 0 && (t.kind != live || m.doomed) {
		cands = append(cands, expired...)
	}
	return cands
}

// unlistedBound reports whether, under the relaxations of in, the live
// token x bound to owner o may be missing from o's index: then Sessions
// does not list it and RevokeOwner does not find it.
func unlistedBound(s *state, in *input, x tokID, o int8) bool {
	return in.relax&(relaxRenewedLive|relaxUnlistedRenew) != 0 && !s.idx[o].has(x)
}

// A relaxation loosens one rule of the model the way a known kind of bug
// breaks it. Relaxations never make a history pass: the checker uses them
// only to say, of a history that failed, which rules it broke (the
// smallest set of relaxations under which it passes).
type relaxation uint16

const (
	// relaxForwardRead: a renewed-away token loads as one that names
	// nothing (the cookie is expired) instead of as a forward.
	relaxForwardRead relaxation = 1 << iota
	// relaxForwardWrite: a set or incr that loaded the session before a
	// racing Renew is dropped (incr: 409) instead of following the
	// forward to the renewed session.
	relaxForwardWrite
	// relaxForwardEnd: a Destroy that loaded the session before a racing
	// Renew, or a Revoke of a renewed-away ID, ends the old token only:
	// the renewed session stays live.
	relaxForwardEnd
	// relaxLostUpdate: Renew writes the renewed session with the value
	// the request loaded, losing what a racing request saved meanwhile.
	relaxLostUpdate
	// relaxLoginExpire: a login that loaded a live session that a racing
	// request renewed or ended meanwhile, or whose binding a revocation
	// doomed, answers 200 with the cookie expired (its new session ended,
	// and the old token with it).
	relaxLoginExpire
	// relaxRenewedLive: a login whose response never arrived (a panic
	// after SetOwner, an error) wrote its new session from the value it
	// loaded even though a racing request renewed the session meanwhile,
	// and left its old token live (perhaps missing from its owner's
	// index), or left the new one live after a panic.
	relaxRenewedLive
	// relaxUnlistedRenew: a Renew of a bound session that failed at the
	// owner index (an error the handler answered itself) is still saved
	// by the middleware: the renewed session is live, bound in its record
	// but perhaps missing from the owner's index.
	relaxUnlistedRenew
	allRelaxations = relaxForwardRead | relaxForwardWrite | relaxForwardEnd | relaxLostUpdate | relaxLoginExpire |
		relaxRenewedLive | relaxUnlistedRenew
)

// relaxationNames name the relaxations in reports, in the order diagnose
// tries to do without them.
var relaxationNames = []struct {
	r    relaxation
	name string
}{
	{relaxForwardRead, "renewed-away token reads as ended (cookie expired), not as a forward"},
	{relaxForwardWrite, "change racing a Renew dropped instead of following the forward"},
	{relaxForwardEnd, "Destroy/Revoke racing a Renew misses the renewed session"},
	{relaxLostUpdate, "Renew loses a racing request's change"},
	{relaxLoginExpire, "login racing a Renew/end/revocation answers 200 with the cookie expired"},
	{relaxRenewedLive, "interrupted login leaves the renewed-away (or new) token live"},
	{relaxUnlistedRenew, "failed Renew saved anyway: a bound session missing from its owner's index"},
}

// diagnoseTimeout bounds each of diagnose's checks: relaxed models have
// many more states.
const diagnoseTimeout = 10 * time.Second

// diagnose names the rules a failing history broke: the smallest set of
// relaxations (found greedily) under which porcupine accepts it. It
// reports explained == false when even all of them do not suffice (or
// porcupine cannot tell in time).
func (h *history) diagnose(l *names) (rules []string, explained bool) {
	ok := func(r relaxation) bool {
		return porcupine.CheckOperationsTimeout(newModel(l.u), h.entries(l, r), diagnoseTimeout) == porcupine.Ok
	}
	if !ok(allRelaxations) {
		return nil, false
	}
	need := allRelaxations
	for _, rn := range relaxationNames {
		if ok(need &^ rn.r) {
			need &^= rn.r
		}
	}
	for _, rn := range relaxationNames {
		if need&rn.r != 0 {
			rules = append(rules, rn.name)
		}
	}
	return rules, true
}
