package lockbox_test

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// designDoc is the project's design, which code, tests and documents cite.
const designDoc = "docs/design.md"

var (
	// "## 3. Invariants" and "### 2.4 Access request: the state machine".
	sectionHeading    = regexp.MustCompile(`^## (\d+)\. (.+)$`)
	subsectionHeading = regexp.MustCompile(`^### (\d+\.\d+) (.+)$`)
	anyHeading        = regexp.MustCompile(`^#{1,6} (.+)$`)
	// An item of the numbered invariant list of §3: "1. **No token …".
	invariantItem = regexp.MustCompile(`^(\d+)\. `)

	sectionCitation = regexp.MustCompile(`design\.md §(\d+(?:\.\d+)?)`)
	// Inside the design itself, a bare "§N" is a citation too.
	ownCitation       = regexp.MustCompile(`§(\d+(?:\.\d+)?)`)
	invariantCitation = regexp.MustCompile(`\b[Ii]nvariants? (\d+)\b`)
	anchorCitation    = regexp.MustCompile(`design\.md#([A-Za-z0-9_-]+)`)
	// The name the design went by before it was in the repository; built
	// from parts so this file does not cite it.
	staleCitation = regexp.MustCompile(`DESIGN` + ` (§|invariant)`)
)

// design is what the citations may name.
type design struct {
	sections   map[string]bool // "3", "2.4"
	invariants map[int]bool
	anchors    map[string]bool // GitHub heading anchors
}

// readDesign parses the headings and the invariant list of the design.
func readDesign(t *testing.T, path string) design {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the design is missing: %v", err)
	}
	d := design{sections: map[string]bool{}, invariants: map[int]bool{}, anchors: map[string]bool{}}
	section, fence := "", false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			fence = !fence
		}
		if fence {
			continue
		}
		if m := anyHeading.FindStringSubmatch(line); m != nil {
			d.anchors[headingAnchor(m[1])] = true
		}
		if m := sectionHeading.FindStringSubmatch(line); m != nil {
			section = m[1]
			d.sections[section] = true
			continue
		}
		if m := subsectionHeading.FindStringSubmatch(line); m != nil {
			d.sections[m[1]] = true
			continue
		}
		if m := invariantItem.FindStringSubmatch(line); m != nil && section == "3" {
			n, _ := strconv.Atoi(m[1])
			d.invariants[n] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return d
}

// headingAnchor is the anchor GitHub gives a heading: lower case, spaces
// to hyphens, punctuation dropped.
func headingAnchor(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestDesignStructure checks that the design keeps the numbering the code
// cites: sections 1 to 8 and invariants 1 to 14, numbered without gaps.
func TestDesignStructure(t *testing.T) {
	d := readDesign(t, designDoc)
	for n := 1; n <= 8; n++ {
		if !d.sections[strconv.Itoa(n)] {
			t.Errorf("%s has no section %d (a heading \"## %d. …\")", designDoc, n, n)
		}
	}
	if len(d.invariants) < 14 {
		t.Errorf("%s lists %d invariants in §3; the code cites 1 to 14", designDoc, len(d.invariants))
	}
	for n := 1; n <= len(d.invariants); n++ {
		if !d.invariants[n] {
			t.Errorf("%s: the invariants of §3 skip number %d", designDoc, n)
		}
	}
}

// TestDesignCitations checks every citation of the design in the
// repository's Go and Markdown files: "design.md §N" must name a section
// (or "§N.M" a subsection), "invariant N" an invariant of §3, and a link to
// an anchor of design.md one of its headings. A citation of the design
// under its old name fails too.
func TestDesignCitations(t *testing.T) {
	d := readDesign(t, designDoc)
	cited := 0
	err := filepath.WalkDir(".", func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if path != "." && strings.HasPrefix(e.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(path); ext != ".go" && ext != ".md" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			at := path + ":" + strconv.Itoa(i+1)
			sections := sectionCitation
			if filepath.ToSlash(path) == designDoc {
				sections = ownCitation
			}
			for _, m := range sections.FindAllStringSubmatch(line, -1) {
				cited++
				if !d.sections[m[1]] {
					t.Errorf("%s cites %s §%s, which has no such section: %s", at, designDoc, m[1], strings.TrimSpace(line))
				}
			}
			for _, m := range invariantCitation.FindAllStringSubmatch(line, -1) {
				cited++
				if n, _ := strconv.Atoi(m[1]); !d.invariants[n] {
					t.Errorf("%s cites invariant %s, which %s §3 does not list: %s", at, m[1], designDoc, strings.TrimSpace(line))
				}
			}
			for _, m := range anchorCitation.FindAllStringSubmatch(line, -1) {
				cited++
				if !d.anchors[m[1]] {
					t.Errorf("%s links %s#%s, which no heading of it has", at, designDoc, m[1])
				}
			}
			if staleCitation.MatchString(line) {
				t.Errorf("%s cites the design by its old name; cite %s §N or invariant N: %s", at, designDoc, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if cited == 0 {
		t.Fatal("found no citation of the design at all: is the test running in the repository's root?")
	}
}
