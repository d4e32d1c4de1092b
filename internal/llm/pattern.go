package llm

import (
	"path"
	"strings"
)

// patternMeta are the characters that make a model name a pattern: the
// special characters of path.Match.
const patternMeta = `*?[\`

// IsModelPattern reports whether a configured model name is a pattern
// (such as "claude-*" or "o[0-9]*") rather than an exact name. Patterns use
// path.Match syntax: * is any run of characters except '/', ? is one
// character, [a-z0-9] a class, \ escapes (issue 10).
func IsModelPattern(name string) bool { return strings.ContainsAny(name, patternMeta) }

// ValidModelPattern reports whether a pattern is well formed.
func ValidModelPattern(pattern string) bool {
	_, err := path.Match(pattern, "")
	return err == nil
}

// MatchModel reports whether a requested model name matches a pattern. A
// malformed pattern matches nothing.
func MatchModel(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// ComparePatterns orders two patterns by specificity, most specific first:
// the longer literal prefix (the text before the first special character)
// wins, then the fewer wildcards (each *, ? and [...] counts one). It
// returns 0 when neither is more specific; callers then keep declaration
// order.
func ComparePatterns(a, b string) int {
	pa, pb := literalPrefix(a), literalPrefix(b)
	if pa != pb {
		return pb - pa
	}
	return wildcards(a) - wildcards(b)
}

func literalPrefix(p string) int {
	if i := strings.IndexAny(p, patternMeta); i >= 0 {
		return i
	}
	return len(p)
}

func wildcards(p string) int {
	n := 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '*', '?':
			n++
		case '[':
			n++
			for i < len(p) && p[i] != ']' {
				if p[i] == '\\' {
					i++
				}
				i++
			}
		}
	}
	return n
}
