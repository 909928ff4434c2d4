package filter

import (
	"strings"
	"unicode"
)

// MLflow tokenizes filters with Python regular expressions compiled with re.IGNORECASE|re.UNICODE, and
// compares words after Python's str.upper()/str.lower(). Python's notion of a space, a word character,
// a digit and case differs from Go's in places; these helpers reproduce Python 3.11's for the
// characters that can change a filter's meaning. (Python 3.11 ships Unicode 14, Go 1.26 Unicode 15: a
// character assigned in Unicode 15 may be a letter here and unassigned there. That is the only
// difference left, and only filters that contain such characters outside quotes could notice it.)

// pyIsSpace reports whether Python's `\s` (str.isspace) matches r.
func pyIsSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0,
		0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// pyIsWord reports whether Python's `\w` matches r: letters, anything numeric, and '_'.
func pyIsWord(r rune) bool {
	if r < 0x80 {
		return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}

// pyIsDigit reports whether Python's `\d` matches r (any decimal digit, category Nd).
func pyIsDigit(r rune) bool {
	if r < 0x80 {
		return r >= '0' && r <= '9'
	}
	return unicode.Is(unicode.Nd, r)
}

// pyDigitValue is the value of a decimal digit (Python's float() and int() accept every Nd digit).
// Unicode allocates decimal digits in runs of ten that start at zero, so the value is the offset in
// the run.
func pyDigitValue(r rune) int {
	if r < 0x80 {
		return int(r - '0')
	}
	n := 0
	for pyIsDigit(r - rune(n) - 1) {
		n++
	}
	return n % 10
}

// asciiDigits rewrites the decimal digits of a number token as ASCII digits so strconv can parse it.
func asciiDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 0x80 && pyIsDigit(r) {
			b.WriteByte(byte('0' + pyDigitValue(r)))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// pyFoldEq reports whether rune r matches the ASCII letter (or other ASCII character) c in a Python
// regular expression compiled with re.IGNORECASE: besides the two ASCII cases, 'i' also matches
// U+0130 and U+0131, 'k' the Kelvin sign and 's' the long s.
func pyFoldEq(r rune, c byte) bool {
	lc := c
	if lc >= 'A' && lc <= 'Z' {
		lc += 'a' - 'A'
	}
	if r < 0x80 {
		lr := byte(r)
		if lr >= 'A' && lr <= 'Z' {
			lr += 'a' - 'A'
		}
		return lr == lc
	}
	switch lc {
	case 'i':
		return r == 0x130 || r == 0x131
	case 'k':
		return r == 0x212a
	case 's':
		return r == 0x17f
	}
	return false
}

// pyIsNameStart reports whether r matches sqlparse's `[A-ZÀ-Ü]` under re.IGNORECASE: ASCII letters,
// U+00C0..U+00DC (which includes U+00D7 '×') and their lower-case forms U+00E0..U+00FC except U+00F7
// '÷', plus the five characters Python folds into those ranges.
func pyIsNameStart(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		return true
	case r >= 0xc0 && r <= 0xdc:
		return true
	case r >= 0xe0 && r <= 0xfc:
		return r != 0xf7
	}
	switch r {
	case 0x130, 0x131, 0x17f, 0x212a, 0x212b:
		return true
	}
	return false
}

// pyUpperSpecial holds the non-ASCII characters whose str.upper() is ASCII. Only those can make a
// word equal to a keyword or comparator after Python upper-cases it.
var pyUpperSpecial = map[rune]string{
	0xdf: "SS", 0x131: "I", 0x17f: "S",
	0xfb00: "FF", 0xfb01: "FI", 0xfb02: "FL", 0xfb03: "FFI", 0xfb04: "FFL", 0xfb05: "ST", 0xfb06: "ST",
}

// pyUpper approximates Python's str.upper(): exact for ASCII and for every character whose upper
// case is ASCII, Go's simple case mapping otherwise. Results are only ever compared with ASCII words.
func pyUpper(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(s)
	}
	var b strings.Builder
	for _, r := range s {
		if sp, ok := pyUpperSpecial[r]; ok {
			b.WriteString(sp)
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// pyLower approximates Python's str.lower() the same way: exact for ASCII and for the Kelvin sign,
// the only non-ASCII character whose lower case is ASCII.
func pyLower(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(unicode.ToLower(r))
		case r == 0x212a:
			b.WriteByte('k')
		case r == 0x130:
			b.WriteString("i\u0307")
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// pyStrip is Python's str.strip(): it removes leading and trailing characters for which isspace().
func pyStrip(s string) string {
	return strings.TrimFunc(s, pyIsSpace)
}
