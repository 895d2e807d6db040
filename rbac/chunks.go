package rbac

// Reading a policy one piece at a time.
//
// yaml.v3 turns a whole document into a tree of yaml.Node (about 170 bytes
// a node, plus the parser's garbage) before anyone can look at it: a 15 MiB
// policy took over 500 MiB of live heap and 1 GB of memory. readPolicy
// instead cuts the text where the cut cannot change its meaning, parses
// each piece on its own and decodes it into the file structs at once, so
// only one piece's tree is alive at a time.
//
// The cuts: a top-level key starts at column 0 with a letter, digit or
// underscore; in a block list that is the value of a top-level key, an
// item starts with "-" at the list's indentation. Block scalars, plain
// multi-line scalars and nested content are indented further, so they are
// never cut. Only quoted scalars and flow collections may continue at such
// a line, and cutting those leaves the first piece unterminated, which
// yaml.v3 refuses: a piece that does not parse is joined with the next one
// and parsed again, so every cut that stands is one the whole text also
// has.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"

	"gopkg.in/yaml.v3"
)

// maxPiece bounds the text given to yaml.v3 at once: one top-level entry
// that is not a block list, or one list item. Its tree costs about 25
// times its size; a policy written in block style never comes near it.
const maxPiece = 1 << 20

// maxJoins bounds how many times a piece that does not parse is joined
// with the next one before the rest of its section is parsed in one go,
// so a long quoted scalar costs a few parses, not one per line.
const maxJoins = 8

var (
	// listKeyLine is a top-level key whose value, a block list, follows
	// on the next lines.
	listKeyLine = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*):(?:[ \t]+(?:#.*)?)?$`)
	// itemStart is the first line of a block list item.
	itemStart = regexp.MustCompile(`^( *)-( |$)`)
)

// span is a run of whole lines of the policy text.
type span struct {
	start, end int // byte offsets
	line       int // 1-based line number of start
}

// lineStarts returns the start offset of every line of data, with YAML's
// line breaks: LF, CR LF, CR, and (as yaml.v3 reads YAML 1.1) NEL, LS, PS.
func lineStarts(data []byte) []int {
	starts := []int{0}
	for i := 0; i < len(data); i++ {
		n := breakLen(data[i:])
		if n == 0 {
			continue
		}
		i += n - 1
		if i+1 < len(data) {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// breakLen is the length of the line break data starts with, or 0.
func breakLen(b []byte) int {
	switch {
	case b[0] == '\n':
		return 1
	case b[0] == '\r':
		if len(b) > 1 && b[1] == '\n' {
			return 2
		}
		return 1
	case bytes.HasPrefix(b, []byte("\u0085")):
		return 2
	case bytes.HasPrefix(b, []byte("\u2028")), bytes.HasPrefix(b, []byte("\u2029")):
		return 3
	}
	return 0
}

// rootSpans cuts data before every line that starts a top-level plain key.
// Text before the first one (comments, %YAML, ---) stays with it.
func rootSpans(data []byte, starts []int) []span {
	var out []span
	for i, s := range starts {
		if i > 0 && isKeyStart(data[s]) {
			out[len(out)-1].end = s
			out = append(out, span{start: s, line: i + 1})
		} else if i == 0 {
			out = append(out, span{start: 0, line: 1})
		}
	}
	out[len(out)-1].end = len(data)
	return out
}

func isKeyStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// itemSpans cuts a top-level "key:" entry whose value is a block list into
// its items. ok is false when the value is anything else.
func itemSpans(data []byte, starts []int, entry span, size int) (key span, items []span, ok bool) {
	first := entry.line - 1
	end := lineEnd(data, starts, first)
	if !listKeyLine.Match(data[entry.start:end]) {
		return span{}, nil, false
	}
	key = span{start: entry.start, end: end, line: entry.line}
	indent := -1
	for i := first + 1; i < len(starts) && starts[i] < entry.end; i++ {
		text := data[starts[i]:lineEnd(data, starts, i)]
		if indent < 0 {
			if isBlankOrComment(text) {
				continue
			}
			m := itemStart.FindSubmatch(text)
			if m == nil {
				return span{}, nil, false
			}
			indent = len(m[1])
		}
		if m := itemStart.FindSubmatch(text); m != nil && len(m[1]) == indent {
			if len(items) > 0 {
				items[len(items)-1].end = starts[i]
			}
			items = append(items, span{start: starts[i], line: i + 1})
		}
	}
	if len(items) == 0 {
		return span{}, nil, false
	}
	items[len(items)-1].end = entry.end
	return key, batch(items, size), true
}

// batchSize is how much text of consecutive list items is parsed at once:
// small enough that its tree stays a few MiB, large enough that setting up
// a parser (about 10 KiB) is not paid per item.
const batchSize = 64 << 10

// batch joins consecutive items into pieces of about size bytes.
func batch(items []span, size int) []span {
	out := items[:1]
	for _, it := range items[1:] {
		last := &out[len(out)-1]
		if it.end-last.start <= size {
			last.end = it.end
		} else {
			out = append(out, it)
		}
	}
	return out
}

// lineEnd is where the text of line i ends, before its line break.
func lineEnd(data []byte, starts []int, i int) int {
	end := len(data)
	if i+1 < len(starts) {
		end = starts[i+1]
	}
	for j := starts[i]; j < end; j++ {
		if breakLen(data[j:]) > 0 {
			return j
		}
	}
	return end
}

func isBlankOrComment(line []byte) bool {
	t := bytes.TrimLeft(line, " \t")
	return len(t) == 0 || t[0] == '#'
}

// readPolicy decodes data into f piece by piece, collecting problems in d.
// It returns an error only for text that is not a policy at all (YAML
// syntax, several documents, empty); d collects the rest.
func readPolicy(d *decoder, data []byte, f *fileDoc) error {
	err := readPieces(d, data, f, batchSize)
	var pe *pieceError
	if errors.As(err, &pe) && len(data) <= maxPiece {
		// A piece's syntax error may be phrased for the piece (yaml.v3
		// names no line for a piece's first); a small file can afford the
		// whole-document parse that phrases it for the file.
		if _, werr := parsePiece(data, span{end: len(data), line: 1}); werr != nil {
			return werr
		}
	}
	return err
}

// readPieces is readPolicy with list items batched up to size bytes.
func readPieces(d *decoder, data []byte, f *fileDoc, size int) error {
	starts := lineStarts(data)
	root := newRootDecoder(d, f)
	entries := rootSpans(data, starts)
	for i := 0; i < len(entries); {
		e := entries[i]
		if key, items, ok := itemSpans(data, starts, e, size); ok && root.isList(listKeyLine.FindSubmatch(data[key.start:key.end])[1]) {
			if err := root.list(data, key, items); err == nil {
				i++
				continue
			}
			// An item would not parse even joined with all that follows
			// it in its section: let the section be parsed whole below.
		}
		n, j, err := parseJoined(data, entries, i)
		if err != nil {
			return err
		}
		switch {
		case n == nil: // comments only
		case n.Kind != yaml.MappingNode:
			// Not a policy; a root scalar may even continue past a cut.
			// Read it whole, as it is, for the error it deserves.
			*f, d.errs = fileDoc{}, nil
			n, err := parsePiece(data, span{end: len(data), line: 1})
			if err == nil && n != nil {
				d.decode(n, reflect0(f), "")
			}
			return err
		default:
			root.pairs(n)
		}
		i = j
	}
	if !root.any {
		return &PolicyError{File: d.file, Msg: "empty policy"}
	}
	return nil
}

// parseJoined parses spans[i], joined with the following ones while the
// text does not parse. It returns the root node (nil for a piece with
// only comments), the index after the last span used, and the syntax
// error of the whole rest when nothing parses.
func parseJoined(data []byte, spans []span, i int) (*yaml.Node, int, error) {
	j := i + 1
	for joins := 0; ; joins++ {
		if joins == maxJoins {
			j = len(spans)
		}
		s := span{start: spans[i].start, end: spans[j-1].end, line: spans[i].line}
		n, err := parsePiece(data, s)
		if err == nil || j == len(spans) {
			return n, j, err
		}
		j++
	}
}

// errPieceTooLarge is refused before yaml.v3 sees the text.
type errPieceTooLarge struct{ line, size int }

func (e *errPieceTooLarge) Error() string { return "piece too large" }

// parsePiece parses one span as a YAML document and moves its nodes to the
// span's lines.
func parsePiece(data []byte, s span) (*yaml.Node, error) {
	if s.end-s.start > maxPiece {
		return nil, &errPieceTooLarge{line: s.line, size: s.end - s.start}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data[s.start:s.end]))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, &pieceError{err: err, offset: s.line - 1}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &pieceError{extra: true, line: extra.Line + s.line - 1}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &pieceError{notDoc: true}
	}
	shiftLines(doc.Content[0], s.line-1)
	return doc.Content[0], nil
}

// pieceError is a piece that yaml.v3 refused, with what the error should
// say once the piece's place in the file is known.
type pieceError struct {
	err    error
	offset int
	extra  bool // a second document
	line   int
	notDoc bool
}

func (e *pieceError) Error() string { return "piece does not parse" }

func shiftLines(n *yaml.Node, by int) {
	if by == 0 {
		return
	}
	n.Line += by
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}

// policyError turns readPolicy's error into the PolicyError it reports.
func policyError(name string, err error) error {
	var pe *pieceError
	var tl *errPieceTooLarge
	switch {
	case errors.As(err, &tl):
		return &PolicyError{File: name, Line: tl.line, Msg: fmt.Sprintf(
			"this top-level entry or list item is %d bytes; a policy is read one entry or block-list item at a time, each at most %d bytes: write long lists in block style, one \"- \" item per element", tl.size, maxPiece)}
	case errors.As(err, &pe) && pe.extra:
		return &PolicyError{File: name, Line: pe.line, Msg: "a policy file holds exactly one YAML document"}
	case errors.As(err, &pe) && pe.notDoc:
		return &PolicyError{File: name, Msg: "not a YAML document"}
	case errors.As(err, &pe):
		return yamlError(name, pe.err, pe.offset)
	}
	return err
}

// rootDecoder decodes the top-level mapping a pair at a time, with the
// checks decodeStruct makes on a whole one.
type rootDecoder struct {
	d      *decoder
	v      reflect.Value // the fileDoc
	fields map[string]int
	names  []string
	seen   map[string]int
	any    bool // a top-level mapping was seen
	dead   bool // the top-level mapping was refused
}

func newRootDecoder(d *decoder, f *fileDoc) *rootDecoder {
	r := &rootDecoder{d: d, v: reflect0(f), seen: map[string]int{}}
	r.fields, r.names = structFields(r.v.Type())
	return r
}

// isList reports whether key names a list field of the file.
func (r *rootDecoder) isList(key []byte) bool {
	i, ok := r.fields[string(key)]
	return ok && r.v.Field(i).Kind() == reflect.Slice
}

// pairs decodes the key/value pairs of one piece's top-level mapping.
func (r *rootDecoder) pairs(n *yaml.Node) {
	if !r.start(n) {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if field, path, ok := r.field(n.Content[i]); ok {
			r.d.decode(n.Content[i+1], field, path)
		}
	}
}

// start takes the top-level mapping of a piece; false means its pairs
// are not decoded, as none are once the first piece's mapping (the
// document's) is refused.
func (r *rootDecoder) start(n *yaml.Node) bool {
	if r.any {
		return !r.dead
	}
	r.any = true
	if !r.d.plain(n, "") {
		r.dead = true
		return false
	}
	r.v.Addr().Interface().(positioned).setPos(n)
	return true
}

// field checks a top-level key (duplicates, unknown names) and returns the
// field it sets.
func (r *rootDecoder) field(k *yaml.Node) (reflect.Value, string, bool) {
	return r.d.structField(r.v, k, "", r.fields, r.names, r.seen)
}

// list decodes a top-level block list item by item. It fails, having
// changed nothing, when an item does not parse even joined with the rest
// of the list; the caller then parses the list whole.
func (r *rootDecoder) list(data []byte, key span, items []span) error {
	kn, err := parsePiece(data, key)
	if err != nil || kn == nil || kn.Kind != yaml.MappingNode || len(kn.Content) != 2 {
		return errors.New("key line does not parse")
	}
	nerrs, anyBefore, deadBefore := len(r.d.errs), r.any, r.dead
	var field reflect.Value
	var path string
	ok := r.start(kn)
	if ok {
		field, path, ok = r.field(kn.Content[0])
	}
	// A list that is not decoded (a duplicate, say) is still parsed: its
	// syntax errors must show as they would in a whole-document parse.
	idx := 0
	for i := 0; i < len(items); {
		n, j, err := parseJoined(data, items, i)
		if err == nil && n != nil && n.Kind != yaml.SequenceNode {
			err = errors.New("not a list item")
		}
		if err != nil {
			// Undo, so that the whole list decodes as if never seen.
			r.d.errs = r.d.errs[:nerrs]
			r.any, r.dead = anyBefore, deadBefore
			if ok {
				delete(r.seen, kn.Content[0].Value)
				field.Set(reflect.Zero(field.Type()))
			}
			return err
		}
		i = j
		if !ok || n == nil || !r.d.plain(n, path) {
			continue
		}
		for _, item := range n.Content {
			elem := reflect.New(field.Type().Elem()).Elem()
			r.d.decode(item, elem, fmt.Sprintf("%s[%d]", path, idx))
			field.Set(reflect.Append(field, elem))
			idx++
		}
	}
	return nil
}
