package lincheck

import (
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"
)

// A stateSet is a state of porcupine's model: every state of the
// sequential model that the operations linearized so far can have led to
// (the model is nondeterministic: an operation with an unknown outcome
// has several effects). Its states are distinct and sorted by key, so
// that two sets compare in one pass.
type stateSet struct {
	states []*state
	hash   uint64 // the XOR of the states' hashes
}

// newStateSet returns the set of the distinct states in states.
func newStateSet(states []*state) *stateSet {
	slices.SortFunc(states, func(a, b *state) int { return strings.Compare(a.key, b.key) })
	states = slices.CompactFunc(states, func(a, b *state) bool { return a.key == b.key })
	set := &stateSet{states: states}
	for _, s := range states {
		set.hash ^= s.hash
	}
	return set
}

func (a *stateSet) equal(b *stateSet) bool {
	return a.hash == b.hash && slices.EqualFunc(a.states, b.states, func(x, y *state) bool { return x.key == y.key })
}

func (a *stateSet) String() string {
	descriptions := make([]string, len(a.states))
	for i, s := range a.states {
		descriptions[i] = s.String()
	}
	return "{" + strings.Join(descriptions, ", ") + "}"
}

// newModel is the model for porcupine over the tokens of u: step, lifted
// to sets of states. It is porcupine's NondeterministicModel.ToModel
// with sets that merge and compare in O(n log n) instead of O(n²): the
// sets of a history with several unknown outcomes in flight hold
// thousands of states.
func newModel(u *universe) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return newStateSet([]*state{initState(u)}) },
		Step: func(st, in, out any) (bool, any) {
			var next []*state
			for _, s := range st.(*stateSet).states {
				next = append(next, step(s, in.(*input), out.(*output))...)
			}
			if len(next) == 0 {
				return false, nil
			}
			return true, newStateSet(next)
		},
		Equal: func(a, b any) bool { return a.(*stateSet).equal(b.(*stateSet)) },
		Hash:  func(st any) uint64 { return st.(*stateSet).hash },
		DescribeOperation: func(in, out any) string {
			i := in.(*input)
			return i.describe(u) + " → " + out.(*output).describe(i.kind, u)
		},
		DescribeState: func(st any) string { return st.(*stateSet).String() },
		DescribeOperationMetadata: func(md any) string {
			s, _ := md.(string)
			return s
		},
	}
}
