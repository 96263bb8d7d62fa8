package testbackend

import (
	"slices"
	"strings"
)

// A ClusterNode is one node as a CLUSTER NODES reply lists it.
type ClusterNode struct {
	ID       string
	Addr     string   // host:port of its clients, without the bus port
	Flags    []string // myself, master, slave, fail, ...
	MasterID string   // for a replica, its master's ID; else "-"
}

// Is reports whether n has flag.
func (n ClusterNode) Is(flag string) bool { return slices.Contains(n.Flags, flag) }

// ParseClusterNodes parses a CLUSTER NODES reply. Over RESP3 the reply is a
// verbatim string, which rueidis hands out with its "txt:" format in front
// of the first node's ID.
func ParseClusterNodes(reply string) []ClusterNode {
	var nodes []ClusterNode
	for line := range strings.Lines(strings.TrimPrefix(reply, "txt:")) {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		nodes = append(nodes, ClusterNode{ID: f[0], Addr: addr, Flags: strings.Split(f[2], ","), MasterID: f[3]})
	}
	return nodes
}
