package rbac

// A strict decoder from yaml.Node trees into the policy file structs.
//
// yaml.v3's own decoder loses line numbers once a value is in a struct, does
// not apply KnownFields below a custom unmarshaler, and expands aliases
// (which a hostile file can use to blow up memory). This walker knows the
// few shapes the policy uses, reports every problem with its line and
// column, rejects unknown fields, duplicate keys, anchors and aliases, and
// keeps going after an error so a reviewer sees all problems at once.

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxErrors bounds how many problems one load reports.
const maxErrors = 50

type decoder struct {
	file   string
	errs   []*PolicyError
	fields map[reflect.Type]structInfo // structFields, computed once per type
}

type structInfo struct {
	fields map[string]int
	names  []string
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	if len(d.errs) >= maxErrors {
		return
	}
	e := &PolicyError{File: d.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// lined is implemented by file structs that record where they start, so
// later validation can point at them.
type lineRec struct {
	Line   int
	Column int
}

func (l *lineRec) setPos(n *yaml.Node) { l.Line, l.Column = n.Line, n.Column }

type positioned interface{ setPos(*yaml.Node) }

// nodeDecoder is implemented by types with their own YAML shape.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	nodePtrType  = reflect.TypeOf((*yaml.Node)(nil))
)

// plain reports and rejects YAML features the policy has no use for.
func (d *decoder) plain(n *yaml.Node, path string) bool {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		d.errorf(n, path, "anchors and aliases are not allowed in a policy")
		return false
	}
	return true
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if !d.plain(n, path) {
		return
	}
	if v.CanAddr() {
		if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
			nd.decodeNode(d, n, path)
			return
		}
	}
	switch {
	case v.Type() == nodePtrType:
		if err := checkPlainTree(n, 0); err != "" {
			d.errorf(n, path, "%s", err)
			return
		}
		v.Set(reflect.ValueOf(n))
		return
	case v.Type() == durationType:
		d.decodeDuration(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.String:
		s, ok := d.scalar(n, path, "a string")
		if ok {
			v.SetString(s)
		}
	case reflect.Bool:
		d.decodeBool(n, v, path)
	case reflect.Int:
		d.decodeInt(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Pointer:
		e := reflect.New(v.Type().Elem())
		d.decode(n, e.Elem(), path)
		v.Set(e)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	default:
		d.errorf(n, path, "internal: cannot decode into %s", v.Type())
	}
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalar(n, path, "a duration such as 1h or 15m")
	if !ok {
		return
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.errorf(n, path, "invalid duration %q (use a form like 1h or 90m)", s)
		return
	}
	v.SetInt(int64(dur))
}

func (d *decoder) decodeBool(n *yaml.Node, v reflect.Value, path string) {
	// YAML 1.1 spellings (yes/no/on/off) are tagged !!bool by yaml.v3
	// only in some modes; be explicit instead of guessing.
	if b, err := strconv.ParseBool(n.Value); d.tagged(n, path, "!!bool", "true or false", err) {
		v.SetBool(b)
	}
}

func (d *decoder) decodeInt(n *yaml.Node, v reflect.Value, path string) {
	if i, err := strconv.Atoi(n.Value); d.tagged(n, path, "!!int", "an integer", err) {
		v.SetInt(int64(i))
	}
}

// tagged reports whether n is a scalar with the given tag whose value
// parsed (err == nil), reporting it if not.
func (d *decoder) tagged(n *yaml.Node, path, tag, want string, err error) bool {
	switch {
	case n.Kind != yaml.ScalarNode || n.ShortTag() != tag:
		d.errorf(n, path, "expected %s", want)
	case err != nil:
		d.errorf(n, path, "expected %s, got %q", want, n.Value)
	default:
		return true
	}
	return false
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "expected a list")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping")
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key, ok := d.scalar(k, path, "a string key")
		if !ok {
			continue
		}
		if line, dup := seen[key]; dup {
			d.errorf(k, path, "duplicate key %q (first at line %d)", key, line)
			continue
		}
		seen[key] = k.Line
		ev := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, ev, path+"."+key)
		m.SetMapIndex(reflect.ValueOf(key), ev)
	}
	v.Set(m)
}

// scalar returns a non-null scalar's text.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if !d.plain(n, path) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		d.errorf(n, path, "expected %s", want)
		return "", false
	}
	return n.Value, true
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping")
		return
	}
	if v.CanAddr() {
		if p, ok := v.Addr().Interface().(positioned); ok {
			p.setPos(n)
		}
	}
	info, ok := d.fields[v.Type()]
	if !ok {
		info.fields, info.names = structFields(v.Type())
		if d.fields == nil {
			d.fields = map[reflect.Type]structInfo{}
		}
		d.fields[v.Type()] = info
	}
	fields, names := info.fields, info.names
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if f, sub, ok := d.structField(v, n.Content[i], path, fields, names, seen); ok {
			d.decode(n.Content[i+1], f, sub)
		}
	}
}

// structFields maps the YAML names of t's fields to their indexes.
func structFields(t reflect.Type) (fields map[string]int, names []string) {
	fields = map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("yaml")
		if tag == "" || tag == "-" {
			continue
		}
		fields[tag] = i
		names = append(names, tag)
	}
	return fields, names
}

// structField checks the key k of a mapping decoded into the struct v
// (duplicates against seen, unknown names) and returns the field it sets
// and the field's path.
func (d *decoder) structField(v reflect.Value, k *yaml.Node, path string, fields map[string]int, names []string, seen map[string]int) (reflect.Value, string, bool) {
	key, ok := d.scalar(k, path, "a field name")
	if !ok {
		return reflect.Value{}, "", false
	}
	sub := key
	if path != "" {
		sub = path + "." + key
	}
	if line, dup := seen[key]; dup {
		d.errorf(k, sub, "duplicate field (first at line %d)", line)
		return reflect.Value{}, "", false
	}
	seen[key] = k.Line
	idx, ok := fields[key]
	if !ok {
		d.errorf(k, path, "unknown field %q (expected one of: %s)", key, strings.Join(names, ", "))
		return reflect.Value{}, "", false
	}
	return v.Field(idx), sub, true
}

// checkPlainTree walks a free-form subtree (test claims) rejecting anchors,
// aliases and absurd depth, so converting it later cannot blow up.
func checkPlainTree(n *yaml.Node, depth int) string {
	if depth > 32 {
		return "nesting too deep"
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return "anchors and aliases are not allowed in a policy"
	}
	for _, c := range n.Content {
		if msg := checkPlainTree(c, depth+1); msg != "" {
			return msg
		}
	}
	return ""
}

// reflect0 returns the addressable value p points to.
func reflect0(p any) reflect.Value { return reflect.ValueOf(p).Elem() }
