package sessions_test

import (
	"bytes"
	"go/format"
	"os"
	"strings"
	"testing"
)

// TestReadmeQuickStartIsFormatted keeps the README's quick-start snippet
// gofmt-clean: it is the first code a new user copies.
func TestReadmeQuickStartIsFormatted(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "## Quick start\n")
	if !ok {
		t.Fatal("README has no Quick start section")
	}
	_, after, ok = strings.Cut(after, "```go\n")
	snippet, _, ok2 := strings.Cut(after, "```\n")
	if !ok || !ok2 {
		t.Fatal("no Go code block in the Quick start section")
	}
	// Inside a function, as a user would paste it.
	var src bytes.Buffer
	src.WriteString("package p\n\nfunc _() {\n")
	for line := range strings.SplitSeq(strings.TrimSuffix(snippet, "\n"), "\n") {
		if line != "" {
			src.WriteString("\t" + line)
		}
		src.WriteString("\n")
	}
	src.WriteString("}\n")
	formatted, err := format.Source(src.Bytes())
	if err != nil {
		t.Fatalf("quick start does not parse: %v", err)
	}
	if !bytes.Equal(formatted, src.Bytes()) {
		t.Errorf("quick start is not gofmt-clean; gofmt gives:\n%s", formatted)
	}
}
