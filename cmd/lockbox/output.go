package main

// Every command prints through the helpers in this file: JSON with -o json,
// aligned text otherwise. Text that came from the server is stripped of
// control characters before it reaches the terminal, so a ticket title
// cannot carry escape sequences into an operator's shell.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lockbox-dev/lockbox"
)

// jsonMode reports whether -o json was given.
func (c *cli) jsonMode() bool { return c.output == "json" }

// emit prints v as indented JSON with -o json, and otherwise calls human,
// which writes the text form.
func (c *cli) emit(v any, human func(w io.Writer)) error {
	switch {
	case c.output == "id":
		err := writeIDs(c.stdout, v)
		if errors.Is(err, errNoID) {
			// The command did what it was asked; only its answer has no
			// id to print. Say so, and succeed.
			fmt.Fprintln(c.stderr, "lockbox: -o id: this answer has no id; nothing printed")
			return nil
		}
		return err
	case c.jsonMode():
		return writeJSON(c.stdout, v)
	}
	human(c.stdout)
	return nil
}

// errNoID is writeIDs' answer for a value without an id.
var errNoID = errors.New("-o id: this answer has no id")

// writeIDs prints the "id" of an answer, or of each item of a list, one per
// line: -o id, for scripts (REQ=$(lockbox -o id request create …)).
func writeIDs(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var obj struct {
		ID    string `json:"id"`
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &obj); err != nil || (obj.ID == "" && obj.Items == nil) {
		return errNoID
	}
	if obj.ID != "" {
		_, err = fmt.Fprintln(w, obj.ID)
		return err
	}
	for _, it := range obj.Items {
		if _, err := fmt.Fprintln(w, it.ID); err != nil {
			return err
		}
	}
	return nil
}

// say prints a confirmation line in table mode; -o json and -o id print
// nothing for answers without a body.
func (c *cli) say(format string, args ...any) {
	if c.output == "table" {
		fmt.Fprintf(c.stdout, format+"\n", args...)
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// column is one column of a list: its header and how a row's cell reads.
type column[T any] struct {
	header string
	value  func(T) any
}

func col[T any](header string, value func(T) any) column[T] {
	return column[T]{header: header, value: value}
}

// emitList prints a page of a list: the List itself with -o json, a table
// otherwise, followed by the command for the next page if there is one.
func emitList[T any](c *cli, cmd *cobra.Command, args []string, l *lockbox.List[T], cols []column[T]) error {
	switch {
	case c.output == "id":
		return writeIDs(c.stdout, l)
	case c.jsonMode():
		return writeJSON(c.stdout, l)
	}
	writeTable(c.stdout, headersOf(cols), rowsOf(l.Items, cols))
	if l.NextPageToken != "" {
		fmt.Fprintf(c.stdout, "next page: %s\n", nextPageCommand(cmd, args, l.NextPageToken))
	}
	return nil
}

// headersOf returns the headers of the columns.
func headersOf[T any](cols []column[T]) []string {
	h := make([]string, len(cols))
	for i, cl := range cols {
		h[i] = cl.header
	}
	return h
}

// rowsOf formats the items' cells.
func rowsOf[T any](items []T, cols []column[T]) [][]string {
	rows := make([][]string, len(items))
	for i, it := range items {
		row := make([]string, len(cols))
		for j, cl := range cols {
			row[j] = cell(cl.value(it))
		}
		rows[i] = row
	}
	return rows
}

// writeTable writes aligned columns.
func writeTable(w io.Writer, headers []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// fields is a block of "Key:  value" lines.
type fields struct {
	tw *tabwriter.Writer
}

func newFields(w io.Writer) *fields {
	return &fields{tw: tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)}
}

// add writes one line; values are formatted by cell.
// An empty key continues the previous line's list.
func (f *fields) add(key string, value any) *fields {
	if key != "" {
		key += ":"
	}
	fmt.Fprintf(f.tw, "%s\t%s\n", key, cell(value))
	return f
}

// addIf writes the line only when value is set (not nil, zero or empty).
func (f *fields) addIf(key string, value any) *fields {
	if cell(value) != "-" {
		f.add(key, value)
	}
	return f
}

func (f *fields) flush() { f.tw.Flush() }

// section writes a heading and indented free text, or nothing when the
// text is empty.
func section(w io.Writer, heading, text string) {
	text = sanitizeText(text)
	if strings.TrimSpace(text) == "" {
		return
	}
	fmt.Fprintf(w, "\n%s:\n", heading)
	for line := range strings.SplitSeq(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(w, "  %s\n", line)
	}
}

// block writes a heading and indented fields.
func block(w io.Writer, heading string, fill func(*fields)) {
	var b strings.Builder
	f := newFields(&b)
	fill(f)
	f.flush()
	if b.Len() == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s:\n", heading)
	for line := range strings.SplitSeq(strings.TrimRight(b.String(), "\n"), "\n") {
		fmt.Fprintf(w, "  %s\n", line)
	}
}

// subtable writes a heading and an indented table, or nothing without rows.
func subtable(w io.Writer, heading string, headers []string, rows [][]string) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s:\n", heading)
	var b strings.Builder
	writeTable(&b, headers, rows)
	for line := range strings.SplitSeq(strings.TrimRight(b.String(), "\n"), "\n") {
		fmt.Fprintf(w, "  %s\n", line)
	}
}

// cell formats a value for a table or field: times in RFC 3339 (UTC),
// durations as short Go durations ("1h30m", which --duration reads back), lists comma-separated, yes/no for booleans,
// and "-" for anything unset.
func cell(v any) string {
	s := ""
	switch v := v.(type) {
	case nil:
	case string:
		s = v
	case time.Time:
		s = fmtTime(v)
	case *time.Time:
		if v != nil {
			s = fmtTime(*v)
		}
	case lockbox.Duration:
		if v != 0 {
			s = fmtDuration(v)
		}
	case *lockbox.Duration:
		if v != nil {
			s = fmtDuration(*v)
		}
	case bool:
		s = "no"
		if v {
			s = "yes"
		}
	case int:
		s = strconv.Itoa(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	case []string:
		s = strings.Join(v, ", ")
	case json.RawMessage:
		s = string(v)
	default:
		rv := reflect.ValueOf(v)
		switch rv.Kind() {
		case reflect.String: // IDs, statuses and other defined string types
			s = rv.String()
		case reflect.Slice:
			parts := make([]string, rv.Len())
			for i := range parts {
				parts[i] = cell(rv.Index(i).Interface())
			}
			s = strings.Join(parts, ", ")
		default:
			s = fmt.Sprint(v)
		}
	}
	s = sanitizeLine(s)
	if s == "" {
		return "-"
	}
	return s
}

// fmtDuration writes a duration as Go does without its zero units:
// "1h" for 1h0m0s, "1h30m" for 1h30m0s, "30m", "45s".
func fmtDuration(d lockbox.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// sanitizeLine makes s safe for one line of a terminal: whitespace
// controls become spaces, other control characters are dropped.
func sanitizeLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.In(r, unicode.Bidi_Control):
			return -1
		}
		return r
	}, s)
}

// sanitizeText is sanitizeLine for multi-line text: it keeps newlines.
func sanitizeText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t':
			return ' '
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.In(r, unicode.Bidi_Control):
			return -1
		}
		return r
	}, s)
}

// truncate shortens s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// nextPageCommand is the command line that fetches the page after the one
// shown: the same command, arguments and flags, with --page-token. The
// token flag is never repeated.
func nextPageCommand(cmd *cobra.Command, args []string, token string) string {
	parts := []string{cmd.CommandPath()}
	for _, a := range args {
		parts = append(parts, shellQuote(a))
	}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		switch f.Name {
		case "token", "page-token":
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				parts = append(parts, "--"+f.Name+"="+shellQuote(v))
			}
			return
		}
		parts = append(parts, "--"+f.Name+"="+shellQuote(f.Value.String()))
	})
	parts = append(parts, "--page-token="+shellQuote(token))
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_-./:=@%+,", r)))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(sanitizeLine(s), "'", `'\''`) + "'"
}
