package lincheck

import "slices"

// A revocation of an owner's sessions (RevokeOwner, RevokeOthers) is not
// atomic: it ends the listed sessions one after another inside one
// conditional write of the owner's index (LIFECYCLE.md), so while it runs,
// a session it has reached reads as ended and one it has not reached yet
// still answers. The model gives the revocation two entries: sweepStep,
// where it begins and marks the sessions it must end as dying, and its
// write, where it ends every session it has not ended yet. In between, a
// dying session may end at any point: earlyEnds lets it end just before
// any entry that could observe it.

// sweepStep: the revocation begins. The live sessions listed for, and
// bound to, its owner (but the current one of RevokeOthers) are dying.
// A revocation whose outcome is unknown marks none: partialRevocations
// covers what it may have done.
func sweepStep(s *state, in *input, out *output) []*state {
	m, ok := s.mark(in.op)
	owner, keep := in.owner, tokID(0)
	switch in.kind {
	case RevokeOwner:
		if ok {
			return nil
		}
		m = mark{op: int32(in.op), loaded: cNone, owner: -1}
	case RevokeOthers:
		if !ok || len(m.dying) > 0 || m.early > 0 {
			return nil
		}
		owner, keep = m.owner, s.target(in.token)
		if m.loaded != cLive {
			owner = -1
		}
	}
	var dying []tokID
	if owner >= 0 && out.outcome == known {
		for x, t := range s.toks {
			x := tokID(x)
			if t.kind == live && t.owner == owner && s.idx[owner].has(x) && x != keep && x != in.token {
				dying = append(dying, x)
			}
		}
	}
	n := s.clone()
	m.dying = dying
	n.setMark(m)
	return []*state{n.seal()}
}

// earlyEnds returns s and the states where revocations under way ended
// some of their dying sessions before the entry in: only sessions the
// entry could observe (its own token's, or any for the calls that read
// owner indexes and records), and not the revocation's own entries.
func earlyEnds(s *state, in *input) []*state {
	states := []*state{s}
	for _, m := range s.marks {
		if len(m.dying) == 0 || int(m.op) == in.op {
			continue
		}
		for _, x := range m.dying {
			if !observes(s, in, x) {
				continue
			}
			for _, st := range states {
				if st.toks[x].kind != live {
					continue // renewed or ended meanwhile: the revocation's write decides
				}
				n := st.clone()
				n.kill(x)
				nm, _ := n.mark(int(m.op))
				nm.dying = slices.DeleteFunc(slices.Clone(nm.dying), func(t tokID) bool { return t == x })
				nm.early++
				n.setMark(nm)
				states = append(states, n.seal())
			}
		}
	}
	return states
}

// observes reports whether the entry in can tell whether the live token
// x has ended.
func observes(s *state, in *input, x tokID) bool {
	switch in.kind {
	case Revoke, RevokeOwner, RevokeOthers, Sessions:
		return true
	}
	for t := in.token; t != 0; t = s.toks[t].to {
		if t == x {
			return true
		}
		if s.toks[t].kind != forward {
			break
		}
	}
	return false
}

// countEarly adds the sessions a revocation ended before its write to
// what each candidate of the write ends.
func countEarly(m mark, cands []cand) []cand {
	for i := range cands {
		cands[i].n += int(m.early)
	}
	return cands
}
