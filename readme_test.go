package sessions_test

// The documentation's code and links are tested here.
//
// TestDocCodeBlocks compiles every ```go block of the Markdown files at
// the repository's root and in docs/ (README.md and the guides), with
// `go vet`, so that a block that stops compiling (a renamed call, a
// changed signature) fails the test. Every block compiles; none is
// skipped. A block is wrapped according to its kind:
//
//   - file: it starts with a package clause, and is compiled as it is,
//     with its own imports;
//   - decls: it is top-level declarations (types, functions), placed in a
//     file of their own;
//   - body: anything else, that is statements, placed in the body of a
//     function `func _()`.
//
// The kind is detected. An HTML comment right before the block (invisible
// on GitHub) can name the kind, and declare, at package level, what the
// block uses but does not declare itself:
//
//	<!-- go:body
//	var mgr *sessions.Manager[UserData]
//	var ctx context.Context
//	-->
//	```go
//	list, err := mgr.Sessions(ctx, "42")
//	```
//
// `<!-- go:decls -->` on one line names the kind alone. The wrapper adds:
//
//   - the imports of the packages the block and its declarations name,
//     looked up by name in docImports (add a package there when a block
//     needs a new one);
//   - UserData, the quick start's session type, unless the block declares
//     it;
//   - `_ = v` after each statement of a body that declares v, so that a
//     snippet may declare what it does not go on to use.
//
// Each block becomes one package in a temporary directory _doccheck* in
// the module (ignored by ./... patterns), and one `go vet` checks them
// all; //line directives make every error point at the Markdown line.
// Each block must also be gofmt-clean, as the function body or file it
// becomes.
//
// TestDocLinks checks every relative link of every Markdown file in the
// repository: the file or directory exists and, for a link to a heading
// (#anchor), the heading does.

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"
)

// docImports are the packages a documentation block may name without
// importing them, by the name it uses.
var docImports = map[string]string{
	"bun":            "github.com/uptrace/bun",
	"context":        "context",
	"errors":         "errors",
	"base64":         "encoding/base64",
	"fmt":            "fmt",
	"fsstore":        "github.com/sessionkit/sessions/store/fsstore",
	"http":           "net/http",
	"log":            "log",
	"memcache":       "github.com/bradfitz/gomemcache/memcache",
	"memcachedstore": "github.com/sessionkit/sessions/store/memcachedstore",
	"memstore":       "github.com/sessionkit/sessions/store/memstore",
	"mongo":          "go.mongodb.org/mongo-driver/v2/mongo",
	"mongostore":     "github.com/sessionkit/sessions/store/mongostore",
	"mysqldialect":   "github.com/uptrace/bun/dialect/mysqldialect",
	"net":            "net",
	"options":        "go.mongodb.org/mongo-driver/v2/mongo/options",
	"os":             "os",
	"pgdialect":      "github.com/uptrace/bun/dialect/pgdialect",
	"pgx":            "github.com/jackc/pgx/v5",
	"redisstore":     "github.com/sessionkit/sessions/store/redisstore",
	"rueidis":        "github.com/redis/rueidis",
	"sessions":       "github.com/sessionkit/sessions",
	"slog":           "log/slog",
	"sql":            "database/sql",
	"sqlitedialect":  "github.com/uptrace/bun/dialect/sqlitedialect",
	"sqliteshim":     "github.com/uptrace/bun/driver/sqliteshim",
	"sqlstore":       "github.com/sessionkit/sessions/store/sqlstore",
	"stdlib":         "github.com/jackc/pgx/v5/stdlib",
	"store":          "github.com/sessionkit/sessions/store",
	"storetest":      "github.com/sessionkit/sessions/storetest",
	"strings":        "strings",
	"testing":        "testing",
	"time":           "time",
}

// userData is the quick start's session type, which most blocks use.
const userData = `type UserData struct {
	UserID int
	Cart   []string
	Flash  string
}
`

// A codeBlock is one ```go block of a Markdown file.
type codeBlock struct {
	file      string // path as the test reads it
	line      int    // line of the block's first line of code
	kind      string // "file", "decls", "body" or "" (detect)
	given     string // the declarations of the comment before it
	givenLine int    // line of given's first line
	code      string
}

// docFiles are the Markdown files whose Go blocks are compiled.
func docFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.md", "docs/*.md"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if !slices.Contains(files, "README.md") {
		t.Fatal("README.md not found")
	}
	return files
}

var fence = regexp.MustCompile("^( *)(```+|~~~+)\\s*([A-Za-z0-9_+-]*)")

// goBlocks returns the ```go blocks of the Markdown text of file.
func goBlocks(file, text string) ([]codeBlock, error) {
	lines := strings.Split(text, "\n")
	var (
		blocks  []codeBlock
		pending *codeBlock // an annotation waiting for its block
	)
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "<!-- go:"); ok {
			if pending != nil {
				return nil, fmt.Errorf("%s:%d: annotation not followed by a ```go block", file, pending.line)
			}
			b := &codeBlock{file: file, line: i + 1}
			head, closed := strings.CutSuffix(strings.TrimSpace(rest), "-->")
			b.kind = strings.TrimSpace(head)
			if !closed {
				b.givenLine = i + 2
				var given []string
				for i++; ; i++ {
					if i == len(lines) {
						return nil, fmt.Errorf("%s:%d: unterminated annotation", file, b.line)
					}
					if strings.TrimSpace(lines[i]) == "-->" {
						break
					}
					given = append(given, lines[i])
				}
				b.given = strings.Join(given, "\n") + "\n"
			}
			switch b.kind {
			case "body", "decls", "file":
			default:
				return nil, fmt.Errorf("%s:%d: unknown block kind %q (want body, decls or file)", file, b.line, b.kind)
			}
			pending = b
			continue
		}
		m := fence.FindStringSubmatch(line)
		if m == nil {
			if pending != nil && strings.TrimSpace(line) != "" {
				return nil, fmt.Errorf("%s:%d: annotation not followed by a ```go block", file, pending.line)
			}
			continue
		}
		indent, marker, lang := m[1], m[2], m[3]
		start := i + 1
		var code []string
		for i++; i < len(lines); i++ {
			if strings.HasPrefix(strings.TrimSpace(lines[i]), marker) && strings.TrimSpace(lines[i]) == strings.Repeat(marker[:1], len(strings.TrimSpace(lines[i]))) {
				break
			}
			code = append(code, strings.TrimPrefix(lines[i], indent))
		}
		if i == len(lines) {
			return nil, fmt.Errorf("%s:%d: unterminated code block", file, start)
		}
		if lang != "go" {
			if pending != nil {
				return nil, fmt.Errorf("%s:%d: annotation not followed by a ```go block", file, pending.line)
			}
			continue
		}
		b := codeBlock{file: file}
		if pending != nil {
			b = *pending
			pending = nil
		}
		b.line = start + 1
		b.code = strings.Join(code, "\n") + "\n"
		blocks = append(blocks, b)
	}
	if pending != nil {
		return nil, fmt.Errorf("%s:%d: annotation not followed by a ```go block", file, pending.line)
	}
	return blocks, nil
}

// detectKind returns the kind of a block that names none.
func detectKind(code string) string {
	if strings.HasPrefix(strings.TrimSpace(code), "package ") {
		return "file"
	}
	if _, err := parser.ParseFile(token.NewFileSet(), "", "package p\n"+code, 0); err == nil {
		return "decls"
	}
	return "body"
}

// wrap returns the Go file block b becomes. absFile is the absolute path
// of b's Markdown file, for the //line directives.
func wrap(b codeBlock, absFile string) (string, error) {
	if b.kind == "file" {
		if b.given != "" {
			return "", fmt.Errorf("a block with a package clause has its own declarations")
		}
		return fmt.Sprintf("//line %s:%d\n%s", absFile, b.line, b.code), nil
	}
	var src strings.Builder
	src.WriteString("package docblock\n\n")
	if b.given != "" {
		fmt.Fprintf(&src, "//line %s:%d\n%s\n", absFile, b.givenLine, b.given)
	}
	preludeAt := src.Len()
	if b.kind == "decls" {
		fmt.Fprintf(&src, "//line %s:%d\n%s", absFile, b.line, b.code)
	} else {
		fmt.Fprintf(&src, "func _() {\n//line %s:%d\n%s}\n", absFile, b.line, b.code)
	}
	text := src.String()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", text, 0)
	if err != nil {
		return "", err
	}
	declared := declaredNames(f)

	// `_ = v` after each statement of the body that declares v.
	type insertion struct {
		at   int
		text string
	}
	var inserts []insertion
	if b.kind == "body" {
		fn := f.Decls[len(f.Decls)-1].(*ast.FuncDecl)
		for _, stmt := range fn.Body.List {
			var names []string
			switch s := stmt.(type) {
			case *ast.AssignStmt:
				if s.Tok == token.DEFINE {
					for _, e := range s.Lhs {
						if id, ok := e.(*ast.Ident); ok {
							names = append(names, id.Name)
						}
					}
				}
			case *ast.DeclStmt:
				if gd, ok := s.Decl.(*ast.GenDecl); ok && gd.Tok == token.VAR {
					for _, spec := range gd.Specs {
						for _, id := range spec.(*ast.ValueSpec).Names {
							names = append(names, id.Name)
						}
					}
				}
			}
			var use strings.Builder
			for _, n := range names {
				if n != "_" {
					fmt.Fprintf(&use, "; _ = %s", n)
				}
			}
			if use.Len() > 0 {
				inserts = append(inserts, insertion{fset.Position(stmt.End()).Offset, use.String()})
			}
		}
	}
	for i := len(inserts) - 1; i >= 0; i-- {
		text = text[:inserts[i].at] + inserts[i].text + text[inserts[i].at:]
	}

	// UserData, unless declared at package level.
	if !topLevel(f)["UserData"] {
		text = text[:preludeAt] + userData + "\n" + text[preludeAt:]
	}

	// The imports of the packages named and not declared.
	used := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && !declared[id.Name] {
				used[id.Name] = true
			}
		}
		return true
	})
	var imports []string
	for name := range used {
		if path, ok := docImports[name]; ok {
			imports = append(imports, fmt.Sprintf("\t%q\n", path))
		}
	}
	sort.Strings(imports)
	head := "package docblock\n\n"
	if len(imports) > 0 {
		head += "import (\n" + strings.Join(imports, "") + ")\n\n"
	}
	return head + strings.TrimPrefix(text, "package docblock\n\n"), nil
}

// declaredNames returns every name f declares, at any level, so that a
// variable that shares a package's name is not taken for the package.
func declaredNames(f *ast.File) map[string]bool {
	names := map[string]bool{}
	add := func(ids ...*ast.Ident) {
		for _, id := range ids {
			names[id.Name] = true
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, e := range n.Lhs {
					if id, ok := e.(*ast.Ident); ok {
						add(id)
					}
				}
			}
		case *ast.RangeStmt:
			if n.Tok == token.DEFINE {
				for _, e := range []ast.Expr{n.Key, n.Value} {
					if id, ok := e.(*ast.Ident); ok {
						add(id)
					}
				}
			}
		case *ast.ValueSpec:
			add(n.Names...)
		case *ast.TypeSpec:
			add(n.Name)
		case *ast.FuncDecl:
			add(n.Name)
		case *ast.FuncType:
			for _, fl := range []*ast.FieldList{n.Params, n.Results} {
				if fl != nil {
					for _, field := range fl.List {
						add(field.Names...)
					}
				}
			}
		}
		return true
	})
	return names
}

// topLevel returns the names f declares at package level.
func topLevel(f *ast.File) map[string]bool {
	names := map[string]bool{}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			names[d.Name.Name] = true
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					names[s.Name.Name] = true
				case *ast.ValueSpec:
					for _, id := range s.Names {
						names[id.Name] = true
					}
				}
			}
		}
	}
	return names
}

// gofmtCheck reports whether b's code is formatted as gofmt formats it,
// as the function body or file it becomes.
func gofmtCheck(b codeBlock) error {
	var src string
	switch b.kind {
	case "file":
		src = b.code
	case "decls":
		src = "package p\n\n" + b.code
	default:
		var body strings.Builder
		for line := range strings.SplitSeq(strings.TrimSuffix(b.code, "\n"), "\n") {
			if line != "" {
				body.WriteString("\t" + line)
			}
			body.WriteString("\n")
		}
		src = "package p\n\nfunc _() {\n" + body.String() + "}\n"
	}
	formatted, err := format.Source([]byte(src))
	if err != nil {
		return err
	}
	if !bytes.Equal(formatted, []byte(src)) {
		return fmt.Errorf("not gofmt-clean; gofmt gives:\n%s", formatted)
	}
	return nil
}

func TestDocCodeBlocks(t *testing.T) {
	var blocks []codeBlock
	for _, file := range docFiles(t) {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		bs, err := goBlocks(file, string(text))
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, bs...)
	}
	if len(blocks) == 0 {
		t.Fatal("no ```go block found")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to compile the blocks with")
	}

	dir, err := os.MkdirTemp(".", "_doccheck")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	kinds := map[string]int{}
	var pkgs []string
	for i, b := range blocks {
		if b.kind == "" {
			b.kind = detectKind(b.code)
		}
		kinds[b.kind]++
		if err := gofmtCheck(b); err != nil {
			t.Errorf("%s:%d: %v", b.file, b.line, err)
		}
		abs, err := filepath.Abs(b.file)
		if err != nil {
			t.Fatal(err)
		}
		src, err := wrap(b, abs)
		if err != nil {
			t.Errorf("%s:%d: %v", b.file, b.line, err)
			continue
		}
		pkg := filepath.Join(dir, fmt.Sprintf("b%03d", i))
		pkgs = append(pkgs, "./"+filepath.ToSlash(pkg))
		if err := os.Mkdir(pkg, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pkg, "block.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d blocks: %d body, %d decls, %d file", len(blocks), kinds["body"], kinds["decls"], kinds["file"])
	cmd := exec.Command(gobin, append([]string{"vet"}, pkgs...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("go vet of the documentation's Go blocks: %v\n%s", err, out)
	}
}

var (
	inlineCode = regexp.MustCompile("`[^`\n]*`")
	inlineLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	refLink    = regexp.MustCompile(`(?m)^\s*\[[^\]]+\]:\s*(\S+)`)
	heading    = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
)

// mdText returns the Markdown text outside code blocks, and its headings'
// anchors as GitHub makes them.
func mdText(text string) (prose string, anchors map[string]bool) {
	anchors = map[string]bool{}
	var b strings.Builder
	inCode := ""
	for line := range strings.SplitSeq(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if inCode != "" {
			if strings.HasPrefix(trimmed, inCode) {
				inCode = ""
			}
			continue
		}
		if m := fence.FindStringSubmatch(line); m != nil {
			inCode = m[2]
			continue
		}
		if m := heading.FindStringSubmatch(line); m != nil {
			slug := githubSlug(m[1])
			for n := 1; anchors[slug]; n++ {
				slug = fmt.Sprintf("%s-%d", githubSlug(m[1]), n)
			}
			anchors[slug] = true
		}
		b.WriteString(line + "\n")
	}
	return b.String(), anchors
}

// githubSlug is the anchor GitHub gives a heading: lower case, spaces as
// hyphens, punctuation other than hyphens and underscores dropped.
func githubSlug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestDocLinks(t *testing.T) {
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	anchorsOf := map[string]map[string]bool{}
	anchors := func(file string) map[string]bool {
		if a, ok := anchorsOf[file]; ok {
			return a
		}
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		_, a := mdText(string(text))
		anchorsOf[file] = a
		return a
	}
	checked := 0
	for _, file := range files {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		prose, _ := mdText(string(text))
		prose = inlineCode.ReplaceAllString(prose, "")
		var targets []string
		for _, m := range inlineLink.FindAllStringSubmatch(prose, -1) {
			targets = append(targets, m[1])
		}
		for _, m := range refLink.FindAllStringSubmatch(prose, -1) {
			targets = append(targets, m[1])
		}
		for _, target := range targets {
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			checked++
			path, anchor, _ := strings.Cut(target, "#")
			resolved := file
			if path != "" {
				resolved = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
				if _, err := os.Stat(resolved); err != nil {
					t.Errorf("%s: link %q: %v", file, target, err)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(resolved, ".md") && !anchors(resolved)[anchor] {
				t.Errorf("%s: link %q: %s has no heading with anchor #%s", file, target, resolved, anchor)
			}
		}
	}
	t.Logf("%d relative links in %d Markdown files", checked, len(files))
}
