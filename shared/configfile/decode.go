package configfile

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Error is a configuration error at a place in a file. Every error Decode,
// Load and Positions.Errorf return is an *Error; its text is one line:
//
//	agent.yaml:12:14: snmp[2].timeout: invalid duration "5 seconds" (...)
//
// Line and Column are 1-based; 0 means unknown (the part is left out).
// Path is the field path in the file's own key names; "" for the whole file.
type Error struct {
	File   string
	Line   int
	Column int
	Path   string
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Pos is a place in a file (1-based line and column).
type Pos struct {
	Line, Column int
}

// Positions maps field paths ("snmp[1].v3.auth_passphrase") of a decoded
// file to where they were written, so that validation after decoding can
// name the line. The position of a mapping entry is that of its key; of a
// list item, that of the item.
type Positions struct {
	file string
	pos  map[string]Pos
}

// File returns the file name the positions refer to.
func (p *Positions) File() string { return p.file }

// Of returns the position of path, or of its nearest ancestor that is in
// the file when path itself is not (a required field that is missing is
// reported where its parent mapping starts). ok is false when neither path
// nor any ancestor was written (an empty path gives line 1).
func (p *Positions) Of(path string) (pos Pos, ok bool) {
	for {
		if v, found := p.pos[path]; found {
			return v, true
		}
		if path == "" {
			return Pos{Line: 1}, false
		}
		path = parentPath(path)
	}
}

// Has reports whether path was written in the file.
func (p *Positions) Has(path string) bool {
	_, ok := p.pos[path]
	return ok
}

// Errorf returns an *Error for path, located at Of(path) (line only).
func (p *Positions) Errorf(path, format string, args ...any) error {
	pos, _ := p.Of(path)
	return &Error{File: p.file, Line: pos.Line, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// parentPath strips the last component: "a.b[2]" -> "a.b", "a.b" -> "a", "a" -> "".
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// Load reads the file at path and decodes it into dst (see Decode). Errors
// name the file as path was given.
func Load(path string, dst any) error {
	_, err := LoadPositions(path, dst)
	return err
}

// LoadPositions is Load that also returns where each field was written.
func LoadPositions(path string, dst any) (*Positions, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read: %v", errors.Unwrap(err))}
	}
	return DecodePositions(path, data, dst)
}

// Decode decodes the YAML document data into dst, a non-nil pointer to a
// struct, strictly: every key must name a field (yaml tags; ",inline"
// structs merge their keys into the parent), every value must have the
// field's type, keys must not repeat, numbers must fit. Fields that
// implement encoding.TextUnmarshaler (Duration, Size, secret.Secret) take
// any scalar's text. A null value leaves the zero value (a nil pointer).
// Aliases are followed (bounded against expansion bombs); merge keys ("<<")
// and custom tags are refused. filename is used only in error messages.
//
// The error, if any, is an *Error naming file, line, column and field path.
func Decode(filename string, data []byte, dst any) error {
	_, err := DecodePositions(filename, data, dst)
	return err
}

// DecodePositions is Decode that also returns where each field was written,
// for validation errors (Positions.Errorf).
func DecodePositions(filename string, data []byte, dst any) (*Positions, error) {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("configfile.Decode: destination must be a non-nil pointer to a struct, got %T", dst)
	}
	if line, col, b, bad := firstInvalidUTF8(data); bad {
		return nil, &Error{File: filename, Line: line, Column: col,
			Msg: fmt.Sprintf("file is not valid UTF-8 (byte 0x%02x); save it as UTF-8", b)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: filename, Msg: "file is empty (want a mapping of settings)"}
		}
		return nil, syntaxError(filename, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{File: filename, Line: extra.Line, Column: extra.Column,
			Msg: "more than one YAML document (remove the \"---\" separator)"}
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(filename, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, &Error{File: filename, Msg: "file is empty (want a mapping of settings)"}
		}
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == nullTag {
		return nil, &Error{File: filename, Msg: "file is empty (want a mapping of settings)"}
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: filename, Line: root.Line, Column: root.Column,
			Msg: fmt.Sprintf("the top level must be a mapping of settings, got %s", describe(root))}
	}
	d := &decoder{
		file:   filename,
		pos:    &Positions{file: filename, pos: map[string]Pos{"": {Line: root.Line, Column: root.Column}}},
		budget: 64*len(data) + 1024,
	}
	if err := d.value(root, rv.Elem(), ""); err != nil {
		return nil, err
	}
	return d.pos, nil
}

const (
	nullTag  = "!!null"
	strTag   = "!!str"
	intTag   = "!!int"
	floatTag = "!!float"
	boolTag  = "!!bool"
)

var yamlLineRE = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml parser error into an *Error with its line.
func syntaxError(file string, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Msg: "not valid YAML: " + oneLine(m[2])}
	}
	return &Error{File: file, Msg: "not valid YAML: " + oneLine(strings.TrimPrefix(msg, "yaml: "))}
}

// firstInvalidUTF8 finds the first byte that is not valid UTF-8.
func firstInvalidUTF8(data []byte) (line, col int, b byte, bad bool) {
	line, lineStart := 1, 0
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return line, i - lineStart + 1, data[i], true
		}
		if r == '\n' {
			line, lineStart = line+1, i+1
		}
		i += size
	}
	return 0, 0, 0, false
}

type decoder struct {
	file   string
	pos    *Positions
	budget int // nodes left to visit: bounds alias expansion
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

func (d *decoder) errAt(n *yaml.Node, path, format string, args ...any) error {
	return &Error{File: d.file, Line: n.Line, Column: n.Column, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// value decodes n into v (settable) at path.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) error {
	d.budget--
	if d.budget < 0 {
		return d.errAt(n, path, "document expands to too many values (aliases nested too deep?)")
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return d.errAt(n, path, "alias %q has no anchor", n.Value)
		}
		return d.value(n.Alias, v, path)
	}
	if n.Kind == yaml.ScalarNode && n.Tag != "" && !strings.HasPrefix(n.Tag, "!!") {
		return d.errAt(n, path, "custom tag %q is not supported", n.Tag)
	}
	if v.Kind() == reflect.Pointer {
		if isNull(n) {
			v.Set(reflect.Zero(v.Type()))
			return nil
		}
		nv := reflect.New(v.Type().Elem())
		if err := d.value(n, nv.Elem(), path); err != nil {
			return err
		}
		v.Set(nv)
		return nil
	}
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshalerType) {
		if isNull(n) {
			v.Set(reflect.Zero(v.Type()))
			return nil
		}
		if n.Kind != yaml.ScalarNode {
			return d.errAt(n, path, "want a single value, got %s", describe(n))
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			return d.errAt(n, path, "%s", oneLine(err.Error()))
		}
		return nil
	}
	if isNull(n) {
		v.Set(reflect.Zero(v.Type()))
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		return d.structValue(n, v, path)
	case reflect.Map:
		return d.mapValue(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return d.errAt(n, path, "want a list, got %s", describe(n))
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.pos.pos[p] = Pos{Line: item.Line, Column: item.Column}
			if err := d.value(item, s.Index(i), p); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return d.errAt(n, path, "want a string, got %s", describe(n))
		}
		v.SetString(n.Value)
		return nil
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != boolTag {
			return d.errAt(n, path, "want true or false, got %s", describe(n))
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			return d.errAt(n, path, "want true or false, got %s", describe(n))
		}
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != intTag {
			if n.Kind == yaml.ScalarNode && digitsRE.MatchString(n.Value) {
				return d.errAt(n, path, "integer %s out of range for this field", n.Value)
			}
			return d.errAt(n, path, "want an integer, got %s", describe(n))
		}
		var i int64
		if err := n.Decode(&i); err != nil || v.OverflowInt(i) {
			return d.errAt(n, path, "integer %s out of range for this field", n.Value)
		}
		v.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != intTag {
			if n.Kind == yaml.ScalarNode && digitsRE.MatchString(n.Value) {
				return d.errAt(n, path, "integer %s out of range for this field", n.Value)
			}
			return d.errAt(n, path, "want a non-negative integer, got %s", describe(n))
		}
		var u uint64
		if err := n.Decode(&u); err != nil || v.OverflowUint(u) {
			return d.errAt(n, path, "integer %s out of range for this field", n.Value)
		}
		v.SetUint(u)
		return nil
	case reflect.Float32, reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != floatTag && n.ShortTag() != intTag) {
			return d.errAt(n, path, "want a number, got %s", describe(n))
		}
		var f float64
		if err := n.Decode(&f); err != nil || v.OverflowFloat(f) {
			return d.errAt(n, path, "number %s out of range for this field", n.Value)
		}
		v.SetFloat(f)
		return nil
	default: // other kinds: no configuration field has them (error below)
	}
	return d.errAt(n, path, "cannot decode into Go type %s", v.Type())
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == nullTag
}

// fieldInfo is one YAML key of a struct (inline structs flattened).
type fieldInfo struct {
	index []int // reflect field index path
}

// structFields lists the YAML keys of struct type t in declaration order.
func structFields(t reflect.Type) (names []string, fields map[string]fieldInfo, err error) {
	fields = map[string]fieldInfo{}
	var walk func(t reflect.Type, prefix []int) error
	walk = func(t reflect.Type, prefix []int) error {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("yaml")
			if tag == "-" || (!f.IsExported() && !f.Anonymous) {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), prefix...), i)
			if strings.Contains(","+opts+",", ",inline,") {
				if f.Type.Kind() != reflect.Struct {
					return fmt.Errorf("inline field %s must be a struct", f.Name)
				}
				if err := walk(f.Type, idx); err != nil {
					return err
				}
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			if _, dup := fields[name]; dup {
				return fmt.Errorf("key %q declared twice in %s", name, t)
			}
			fields[name] = fieldInfo{index: idx}
			names = append(names, name)
		}
		return nil
	}
	err = walk(t, nil)
	return names, fields, err
}

func (d *decoder) structValue(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		return d.errAt(n, path, "want a mapping of settings, got %s", describe(n))
	}
	names, fields, err := structFields(v.Type())
	if err != nil {
		return d.errAt(n, path, "configfile: %v", err)
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key, err := d.key(k, path)
		if err != nil {
			return err
		}
		p := joinPath(path, key)
		if first, dup := seen[key]; dup {
			return d.errAt(k, p, "duplicate key (first set at line %d)", first.Line)
		}
		seen[key] = k
		fi, ok := fields[key]
		if !ok {
			return d.errAt(k, path, "unknown field %q%s", key, hint(key, names))
		}
		d.pos.pos[p] = Pos{Line: k.Line, Column: k.Column}
		fv := v
		for _, x := range fi.index {
			fv = fv.Field(x)
		}
		if err := d.value(val, fv, p); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) mapValue(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		return d.errAt(n, path, "want a mapping, got %s", describe(n))
	}
	if v.Type().Key().Kind() != reflect.String {
		return d.errAt(n, path, "configfile: map keys must be strings, not %s", v.Type().Key())
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key, err := d.key(k, path)
		if err != nil {
			return err
		}
		p := joinPath(path, key)
		if first, dup := seen[key]; dup {
			return d.errAt(k, p, "duplicate key (first set at line %d)", first.Line)
		}
		seen[key] = k
		d.pos.pos[p] = Pos{Line: k.Line, Column: k.Column}
		ev := reflect.New(v.Type().Elem()).Elem()
		if err := d.value(val, ev, p); err != nil {
			return err
		}
		m.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), ev)
	}
	v.Set(m)
	return nil
}

// key returns the text of a mapping key, which must be a plain scalar.
func (d *decoder) key(k *yaml.Node, path string) (string, error) {
	if k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return "", d.errAt(k, path, "a key must be a single value, got %s", describe(k))
	}
	if k.ShortTag() == "!!merge" || k.Value == "<<" {
		return "", d.errAt(k, path, "merge keys (<<) are not supported; write the settings out (or use snmp_defaults)")
	}
	return k.Value, nil
}

// digitsRE matches integers too large for YAML's int resolution (they resolve as floats).
var digitsRE = regexp.MustCompile(`^[-+]?[0-9]+$`)

var plainKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func joinPath(path, key string) string {
	if !plainKeyRE.MatchString(key) {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names what a node is, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	default: // scalars, below
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:37] + "..."
	}
	switch n.ShortTag() {
	case strTag:
		return fmt.Sprintf("string %q", v)
	case intTag:
		return "integer " + v
	case floatTag:
		return "number " + v
	case boolTag:
		return "boolean " + v
	case nullTag:
		return "nothing"
	}
	return fmt.Sprintf("a value tagged %q", n.ShortTag())
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// hint suggests the closest valid key, or lists them all.
func hint(key string, names []string) string {
	best, bestD := "", 1<<30
	for _, n := range names {
		if d := editDistance(strings.ToLower(key), n); d < bestD {
			best, bestD = n, d
		}
	}
	if best != "" && bestD <= 2 && bestD*2 < len(key) {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	return " (valid: " + strings.Join(sorted, ", ") + ")"
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and adjacent transpositions.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			d[i][j] = min(d[i-1][j-1]+c, d[i-1][j]+1, d[i][j-1]+1)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
