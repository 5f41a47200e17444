package cli

import "strings"

// shellQuote quotes s for a Bourne shell exactly as GNU parallel does:
// strings of only [-_.+a-zA-Z0-9/] stay bare, the empty string becomes ”,
// everything else is wrapped in single quotes with each ' written as '"'"'.
// Users compare par's --dry-run output with GNU parallel's, so the exact
// spelling matters, not only the meaning.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if isBare(s) {
		return s
	}
	q := "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
	q = strings.TrimPrefix(q, "''")
	q = strings.TrimSuffix(q, "''")
	return q
}

// isBare reports whether s needs no quoting for the shell.
func isBare(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}
