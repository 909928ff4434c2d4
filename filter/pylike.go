package filter

import "unicode"

// pyLike is LIKE and ILIKE as MLflow's file store evaluates them: the pattern becomes a Python
// regular expression (re.escape, then '%' → ".*" and '_' → "."), anchored with '$' unless the
// pattern ends with '%', and applied with re.match (anchored at the start), with re.IGNORECASE for
// ILIKE. Hence, unlike SQL:
//
//   - '%' and '_' do not match a newline ('.' in Python), so '%break' does not match "line\nbreak";
//   - a pattern ending in '%' only needs to match a prefix of the value, up to a newline;
//   - '$' also matches just before a final newline, so 'x' matches "x\n";
//   - with fold, letters compare by Python's Unicode case rules (reFoldEq).
//
// It runs in O(len(s)·len(pattern)) time, with no backtracking.
func pyLike(s, pattern string, fold bool) bool {
	str, pat := []rune(s), []rune(pattern)
	n := len(str)
	// at[i] reports whether the pattern read so far can end at str[i].
	at := make([]bool, n+1)
	next := make([]bool, n+1)
	at[0] = true
	for _, p := range pat {
		clear(next)
		switch p {
		case '%': // .* : stay, or advance over anything but a newline
			for i := 0; i <= n; i++ {
				next[i] = at[i] || (i > 0 && next[i-1] && str[i-1] != '\n')
			}
		case '_': // . : one character but a newline
			for i := 0; i < n; i++ {
				next[i+1] = at[i] && str[i] != '\n'
			}
		default:
			for i := 0; i < n; i++ {
				next[i+1] = at[i] && (str[i] == p || fold && reFoldEq(str[i], p))
			}
		}
		at, next = next, at
	}
	if len(pat) > 0 && pat[len(pat)-1] == '%' {
		for _, ok := range at {
			if ok {
				return true // no '$': any prefix match counts
			}
		}
		return false
	}
	return at[n] || (n > 0 && str[n-1] == '\n' && at[n-1])
}

// reFoldEq reports whether Python's re.IGNORECASE matches the character c of the string with the
// pattern character p (both already known to differ): a cased p matches every character whose
// lower case is p's lower case or one of its extra equivalents (re._casefix), as sre's
// LITERAL_UNI_IGNORE and IN_UNI_IGNORE do. Lower case is the simple Unicode mapping, which is what
// Python uses there (its first character of the full mapping differs only for U+0130, whose
// first character is the simple mapping too).
func reFoldEq(c, p rune) bool {
	if !pyIsCased(p) {
		return false
	}
	lc, lp := unicode.ToLower(c), unicode.ToLower(p)
	if lc == lp {
		return true
	}
	cc, okc := pyCaseClass[lc]
	cp, okp := pyCaseClass[lp]
	return okc && okp && cc == cp
}

// pyIsCased is sre's unicode_iscased: the character has a different lower or upper case. Python's
// upper case is the first character of the full mapping, so ß (upper "SS") and the ligatures are
// cased, though their simple upper case is themselves.
func pyIsCased(r rune) bool {
	return unicode.ToLower(r) != r || unicode.ToUpper(r) != r || pySpecialUpper[r]
}

// pySpecialUpper holds lower-case letters without a simple upper case whose full upper case
// (SpecialCasing.txt, unconditional) differs from them. TestPyCaseTables checks this table and
// the lower-case mapping against Python's own over every code point.
var pySpecialUpper = map[rune]bool{
	0x00DF: true, 0x0149: true, 0x01F0: true, 0x0390: true, 0x03B0: true, 0x0587: true,
	0x1E96: true, 0x1E97: true, 0x1E98: true, 0x1E99: true, 0x1E9A: true,
	0x1F50: true, 0x1F52: true, 0x1F54: true, 0x1F56: true,
	0x1FB2: true, 0x1FB4: true, 0x1FB6: true, 0x1FB7: true, 0x1FC2: true, 0x1FC4: true, 0x1FC6: true, 0x1FC7: true,
	0x1FD2: true, 0x1FD3: true, 0x1FD6: true, 0x1FD7: true, 0x1FE2: true, 0x1FE3: true,
	0x1FE4: true, 0x1FE6: true, 0x1FE7: true, 0x1FF2: true, 0x1FF4: true, 0x1FF6: true, 0x1FF7: true,
	0xFB00: true, 0xFB01: true, 0xFB02: true, 0xFB03: true, 0xFB04: true, 0xFB05: true, 0xFB06: true,
	0xFB13: true, 0xFB14: true, 0xFB15: true, 0xFB16: true, 0xFB17: true,
}

// pyCaseClass groups the lower-case characters Python's regular expressions treat as the same
// letter beyond lower-casing (re._casefix._EXTRA_CASES, Python 3.11): dotless i and i, long s and
// s, the Greek symbol variants, the old Cyrillic forms, and two ligatures.
var pyCaseClass = func() map[rune]int {
	classes := [][]rune{
		{'i', 'ı'}, {'s', 'ſ'}, {'µ', 'μ'}, {0x345, 'ι', 0x1FBE}, {0x390, 0x1FD3}, {0x3B0, 0x1FE3},
		{'β', 'ϐ'}, {'ε', 'ϵ'}, {'θ', 'ϑ'}, {'κ', 'ϰ'}, {'π', 'ϖ'}, {'ρ', 'ϱ'}, {'ς', 'σ'}, {'φ', 'ϕ'},
		{'в', 0x1C80}, {'д', 0x1C81}, {'о', 0x1C82}, {'с', 0x1C83}, {'т', 0x1C84, 0x1C85}, {'ъ', 0x1C86},
		{'ѣ', 0x1C87}, {0xA64B, 0x1C88}, {0x1E61, 0x1E9B}, {0xFB05, 0xFB06},
	}
	m := map[rune]int{}
	for i, class := range classes {
		for _, r := range class {
			m[r] = i
		}
	}
	return m
}()
