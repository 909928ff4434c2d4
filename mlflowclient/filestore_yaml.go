package mlflowclient

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v4"
)

// This file writes and reads the meta.yaml files of MLflow's file store.
//
// MLflow writes them with PyYAML (yaml.dump(..., default_flow_style=False, allow_unicode=True,
// sort_keys=True, Dumper=CSafeDumper)) and reads them with yaml.safe_load, which resolves plain
// scalars by YAML 1.1 rules: `yes`, `1:20`, `2024-01-02`, `0o17`-free octals like `017` are not
// strings there. A general Go YAML library follows YAML 1.2 and would write some strings plain
// that PyYAML then reads as booleans, numbers or dates. So the writer below decides the scalar
// style with PyYAML's own rules (Emitter.analyze_scalar, choose_scalar_style and the implicit
// resolvers of resolver.py), and the reader takes scalars lexically from the parsed node tree so
// that YAML 1.2 resolution never turns a string MLflow wrote into something else.

// fsYAMLValue is one value of a flat meta.yaml mapping.
type fsYAMLValue struct {
	kind fsYAMLKind
	s    string
	i    int64
}

type fsYAMLKind int

const (
	fsYAMLNull fsYAMLKind = iota
	fsYAMLString
	fsYAMLInt
	fsYAMLEmptyList
)

func fsYStr(s string) fsYAMLValue { return fsYAMLValue{kind: fsYAMLString, s: s} }
func fsYInt(i int64) fsYAMLValue  { return fsYAMLValue{kind: fsYAMLInt, i: i} }
func fsYNull() fsYAMLValue        { return fsYAMLValue{kind: fsYAMLNull} }
func fsYEmptyList() fsYAMLValue   { return fsYAMLValue{kind: fsYAMLEmptyList} }
func fsYIntOrNull(i int64) fsYAMLValue { // MLflow stores "not set" times as null
	if i == 0 {
		return fsYNull()
	}
	return fsYInt(i)
}

// fsMarshalYAML renders a flat mapping exactly as PyYAML's safe_dump with sort_keys=True does
// for these value kinds (except that long scalars are not folded at 80 columns, which changes
// nothing for a reader).
func fsMarshalYAML(m map[string]fsYAMLValue) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // Python sorts str keys by code point, as Go sorts UTF-8 bytes
	var b bytes.Buffer
	for _, k := range keys {
		b.WriteString(fsYAMLScalar(k))
		b.WriteString(":")
		v := m[k]
		switch v.kind {
		case fsYAMLNull:
			b.WriteString(" null")
		case fsYAMLInt:
			b.WriteString(" ")
			b.WriteString(strconv.FormatInt(v.i, 10))
		case fsYAMLEmptyList:
			b.WriteString(" []")
		case fsYAMLString:
			b.WriteString(" ")
			b.WriteString(fsYAMLScalar(v.s))
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

// PyYAML's implicit resolvers (yaml/resolver.py). A plain scalar matching one of them is not read
// back as a string, so such strings must be quoted. Compiled on first use: only the file store
// needs them, and compiling them at start-up cost every run.
var fsPyYAMLImplicit = sync.OnceValue(func() []*regexp.Regexp {
	return []*regexp.Regexp{
		regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`),
		regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`),
		regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`),
		regexp.MustCompile(`^(?:<<)$`),
		regexp.MustCompile(`^(?:~|null|Null|NULL|)$`),
		regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`),
		regexp.MustCompile(`^(?:=)$`),
	}
})

func fsYAMLResolvesToNonString(s string) bool {
	for _, re := range fsPyYAMLImplicit() {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// fsYAMLScalar renders a string as PyYAML would in block context: plain when that is allowed and reads
// back as the same string, else single-quoted, else double-quoted (control characters, line breaks).
// PyYAML single-quotes strings with line breaks (folding them); double quotes read back the same and
// are simpler to get right, so they are used for those.
func fsYAMLScalar(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD") // Python strings cannot hold invalid UTF-8
	plain, single := fsAnalyzeYAMLScalar(s)
	if plain && !fsYAMLResolvesToNonString(s) {
		return s
	}
	if single {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return fsYAMLDoubleQuoted(s)
}

func fsIsYAMLBreak(r rune) bool { return r == '\n' || r == '\x85' || r == '\u2028' || r == '\u2029' }

func fsIsYAMLSpaceOrBreak(r rune) bool {
	return r == 0 || r == ' ' || r == '\t' || r == '\r' || fsIsYAMLBreak(r)
}

// fsIsYAMLPrintable is libyaml's IS_PRINTABLE (MLflow dumps with CSafeDumper, i.e. libyaml, which
// unlike pure-Python PyYAML counts characters beyond the BMP as not printable and escapes them).
func fsIsYAMLPrintable(r rune) bool {
	if r == '\n' || (r >= 0x20 && r <= 0x7E) {
		return true
	}
	return (r == 0x85 || (r >= 0xA0 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD)) && r != 0xFEFF
}

// fsAnalyzeYAMLScalar ports the parts of PyYAML's Emitter.analyze_scalar that decide whether a
// non-empty string may be written plain (block context) or single-quoted.
func fsAnalyzeYAMLScalar(s string) (blockPlain, singleQuoted bool) {
	if s == "" {
		return true, true // plain is then refused by the null resolver
	}
	rs := []rune(s)
	blockIndicators := strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...")
	var lineBreaks, special, leadingSpace, leadingBreak, trailingSpace, trailingBreak, breakSpace, spaceBreak bool
	precededByWS := true
	followedByWS := len(rs) == 1 || fsIsYAMLSpaceOrBreak(rs[1])
	prevSpace, prevBreak := false, false
	for i, ch := range rs {
		if i == 0 {
			if strings.ContainsRune("#,[]{}&*!|>'\"%@`", ch) {
				blockIndicators = true
			}
			if (ch == '?' || ch == ':') && followedByWS {
				blockIndicators = true
			}
			if ch == '-' && followedByWS {
				blockIndicators = true
			}
		} else {
			if ch == ':' && followedByWS {
				blockIndicators = true
			}
			if ch == '#' && precededByWS {
				blockIndicators = true
			}
		}
		if fsIsYAMLBreak(ch) {
			lineBreaks = true
		}
		if !fsIsYAMLPrintable(ch) {
			special = true
		}
		switch {
		case ch == ' ':
			if i == 0 {
				leadingSpace = true
			}
			if i == len(rs)-1 {
				trailingSpace = true
			}
			if prevBreak {
				breakSpace = true
			}
			prevSpace, prevBreak = true, false
		case fsIsYAMLBreak(ch):
			if i == 0 {
				leadingBreak = true
			}
			if i == len(rs)-1 {
				trailingBreak = true
			}
			if prevSpace {
				spaceBreak = true
			}
			prevSpace, prevBreak = false, true
		default:
			prevSpace, prevBreak = false, false
		}
		precededByWS = fsIsYAMLSpaceOrBreak(ch)
		followedByWS = i+2 >= len(rs) || fsIsYAMLSpaceOrBreak(rs[i+2])
	}
	blockPlain, singleQuoted = true, true
	if leadingSpace || leadingBreak || trailingSpace || trailingBreak {
		blockPlain = false
	}
	if breakSpace {
		blockPlain, singleQuoted = false, false
	}
	if spaceBreak || special {
		blockPlain, singleQuoted = false, false
	}
	if lineBreaks {
		blockPlain = false
		singleQuoted = false // our choice: double quotes instead of PyYAML's folded single quotes
	}
	if blockIndicators {
		blockPlain = false
	}
	return blockPlain, singleQuoted
}

var fsYAMLEscapes = map[rune]string{
	0: `\0`, 0x07: `\a`, 0x08: `\b`, 0x09: `\t`, 0x0A: `\n`, 0x0B: `\v`, 0x0C: `\f`, 0x0D: `\r`,
	0x1B: `\e`, '"': `\"`, '\\': `\\`, 0x85: `\N`, 0xA0: `\_`, 0x2028: `\L`, 0x2029: `\P`,
}

func fsYAMLDoubleQuoted(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if fsIsYAMLPrintable(r) && !fsIsYAMLBreak(r) && r != '"' && r != '\\' {
			b.WriteRune(r)
			continue
		}
		if esc, ok := fsYAMLEscapes[r]; ok {
			b.WriteString(esc)
			continue
		}
		switch {
		case r <= 0xFF:
			fmt.Fprintf(&b, `\x%02X`, r)
		case r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			fmt.Fprintf(&b, `\U%08X`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// fsMeta is a parsed flat meta.yaml: scalar values by key, taken lexically.
type fsMeta map[string]*yaml.Node

// fsParseMeta parses a meta.yaml. An empty document yields fsErrEmptyMeta (MLflow retries those,
// they happen while a non-atomic writer is mid-write).
func fsParseMeta(data []byte) (fsMeta, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fsErrEmptyMeta
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse meta.yaml: %w", err)
	}
	n := &doc
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil, fsErrEmptyMeta
		}
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("parse meta.yaml: top level is not a mapping: %w", ErrSchema)
	}
	m := fsMeta{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		for v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		m[k.Value] = v
	}
	return m, nil
}

var fsErrEmptyMeta = fmt.Errorf("meta.yaml is empty: %w", ErrSchema)

// str returns a scalar as the string PyYAML would load, or "" for null/missing.
func (m fsMeta) str(key string) string {
	v, ok := m[key]
	if !ok || v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" {
		return ""
	}
	return v.Value
}

// int64Val returns an integer scalar; missing, null or unparsable values give ok=false.
func (m fsMeta) int64Val(key string) (int64, bool) {
	v, ok := m[key]
	if !ok || v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" {
		return 0, false
	}
	s := strings.ReplaceAll(v.Value, "_", "")
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == float64(int64(f)) {
		return int64(f), true
	}
	return 0, false
}

// has reports whether key is present.
func (m fsMeta) has(key string) bool { _, ok := m[key]; return ok }
