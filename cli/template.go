package cli

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// kind is what a replacement string stands for.
type kind uint8

const (
	kLit       kind = iota // literal text
	kArg                   // {}   the argument
	kNoExt                 // {.}  without extension
	kBase                  // {/}  basename
	kDir                   // {//} dirname
	kBaseNoExt             // {/.} basename without extension
	kSeq                   // {#}  job sequence number
	kSlot                  // {%}  job slot number
)

// token is one piece of a command template: literal text or a
// replacement string, optionally positional ({2.} has pos 2).
type token struct {
	kind kind
	pos  int // 0: all arguments of the job; n: the n-th
	lit  string
}

// Template is a parsed command line with its replacement strings.
type Template struct {
	words  [][]token // the command split on spaces, for -X context replace
	maxPos int       // highest positional replacement string, 0 if none
	repl   bool      // the template has at least one replacement string
}

// Replacements maps replacement strings to what they stand for; -I and
// friends change the names, never the meaning.
type Replacements map[string]kind

// DefaultReplacements are GNU parallel's built-in replacement strings.
func DefaultReplacements() Replacements {
	return Replacements{"{}": kArg, "{.}": kNoExt, "{/}": kBase, "{//}": kDir,
		"{/.}": kBaseNoExt, "{#}": kSeq, "{%}": kSlot}
}

// positional suffixes: {n}, {n.}, {n/}, {n//}, {n/.}
var posSuffix = map[string]kind{"": kArg, ".": kNoExt, "/": kBase, "//": kDir, "/.": kBaseNoExt}

// ParseTemplate parses a command string. Unknown brace groups such as
// {foo} stay literal, as in GNU parallel.
func ParseTemplate(cmd string, rs Replacements) *Template {
	names := make([]string, 0, len(rs))
	for n := range rs {
		if n != "" {
			names = append(names, n)
		}
	}
	// Longest first so {//} wins over {/}, and deterministic.
	sort.Slice(names, func(i, j int) bool {
		if len(names[i]) != len(names[j]) {
			return len(names[i]) > len(names[j])
		}
		return names[i] < names[j]
	})
	t := &Template{}
	var cur []token
	var lit strings.Builder
	flushLit := func() {
		if lit.Len() > 0 {
			cur = append(cur, token{kind: kLit, lit: lit.String()})
			lit.Reset()
		}
	}
	endWord := func() {
		flushLit()
		t.words = append(t.words, cur)
		cur = nil
	}
	for i := 0; i < len(cmd); {
		if cmd[i] == ' ' {
			endWord()
			i++
			continue
		}
		if tok, n := matchRepl(cmd[i:], names, rs); n > 0 {
			flushLit()
			cur = append(cur, tok)
			t.repl = true
			if tok.pos > t.maxPos {
				t.maxPos = tok.pos
			}
			i += n
			continue
		}
		lit.WriteByte(cmd[i])
		i++
	}
	endWord()
	return t
}

func matchRepl(s string, names []string, rs Replacements) (token, int) {
	for _, n := range names {
		if strings.HasPrefix(s, n) {
			return token{kind: rs[n]}, len(n)
		}
	}
	if len(s) < 3 || s[0] != '{' || s[1] < '1' || s[1] > '9' {
		return token{}, 0
	}
	j := 1
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	end := strings.IndexByte(s[j:], '}')
	if end < 0 || end > 2 {
		return token{}, 0
	}
	k, ok := posSuffix[s[j:j+end]]
	if !ok {
		return token{}, 0
	}
	pos, err := strconv.Atoi(s[1:j])
	if err != nil || pos > 1<<20 {
		return token{}, 0
	}
	return token{kind: k, pos: pos}, j + end + 1
}

// HasReplacement reports whether the template uses any replacement string;
// without one, GNU parallel appends the arguments.
func (t *Template) HasReplacement() bool { return t.repl }

// MaxPos is the highest positional replacement string ({3} gives 3).
func (t *Template) MaxPos() int { return t.maxPos }

// expandMode says how a template with several arguments per job expands.
type expandMode uint8

const (
	modeNormal  expandMode = iota // {} is all arguments, space separated
	modeContext                   // -X: the word around {} repeats per argument
)

// jobVars are the values a template is expanded with.
type jobVars struct {
	args  []string // the job's arguments, flattened over input sources
	seq   int64
	slot  int
	quote bool // shell-quote the arguments (false for a command taken from input)
}

// Expand substitutes the job's values into the template.
func (t *Template) Expand(v jobVars, mode expandMode) string {
	var b strings.Builder
	for wi, w := range t.words {
		if wi > 0 {
			b.WriteByte(' ')
		}
		if mode == modeContext && hasAllArgs(w) && len(v.args) > 0 {
			for ai, a := range v.args {
				if ai > 0 {
					b.WriteByte(' ')
				}
				one := v
				one.args = []string{a}
				writeWord(&b, w, one, v.args)
			}
			continue
		}
		writeWord(&b, w, v, v.args)
	}
	return b.String()
}

func hasAllArgs(w []token) bool {
	for _, tk := range w {
		if tk.kind != kLit && tk.kind != kSeq && tk.kind != kSlot && tk.pos == 0 {
			return true
		}
	}
	return false
}

// writeWord writes one word; positional strings index all of the job's
// arguments even inside a context-replaced word.
func writeWord(b *strings.Builder, w []token, v jobVars, all []string) {
	for _, tk := range w {
		switch {
		case tk.kind == kLit:
			b.WriteString(tk.lit)
		case tk.kind == kSeq:
			b.WriteString(strconv.FormatInt(v.seq, 10))
		case tk.kind == kSlot:
			b.WriteString(strconv.Itoa(v.slot))
		case tk.pos > 0:
			if tk.pos <= len(all) {
				b.WriteString(v.q(transform(tk.kind, all[tk.pos-1])))
			}
		default:
			for i, a := range v.args {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(v.q(transform(tk.kind, a)))
			}
		}
	}
}

func (v jobVars) q(s string) string {
	if v.quote {
		return shellQuote(s)
	}
	return s
}

var extRe = regexp.MustCompile(`\.[^/.]*$`)

// transform applies a replacement string's rule to one argument, with
// GNU parallel's regular expressions and Perl's dirname.
func transform(k kind, s string) string {
	switch k {
	case kNoExt:
		return extRe.ReplaceAllLiteralString(s, "")
	case kBase:
		return basename(s)
	case kDir:
		return dirname(s)
	case kBaseNoExt:
		return extRe.ReplaceAllLiteralString(basename(s), "")
	}
	return s
}

// basename is GNU parallel's s:.*/:: — the first match removes everything
// up to the last slash of the first line that has one (Perl's . does not
// match a newline).
func basename(s string) string {
	start := 0
	for start <= len(s) {
		end := strings.IndexByte(s[start:], '\n')
		if end < 0 {
			end = len(s)
		} else {
			end += start
		}
		if i := strings.LastIndexByte(s[start:end], '/'); i >= 0 {
			return s[:start] + s[start+i+1:]
		}
		start = end + 1
	}
	return s
}

// dirname is Perl's File::Basename::dirname for Unix: the directory part,
// "." when there is none, trailing slashes ignored.
func dirname(s string) string {
	t := strings.TrimRight(s, "/")
	if t == "" {
		if s == "" {
			return "."
		}
		return "/"
	}
	i := strings.LastIndexByte(t, '/')
	if i < 0 {
		return "."
	}
	d := strings.TrimRight(t[:i], "/")
	if d == "" {
		return "/"
	}
	return d
}

// checkPositions rejects a positional replacement string for an input
// source that does not exist (GNU parallel silently substitutes nothing).
func (t *Template) checkPositions(sources int) error {
	if t.maxPos > sources {
		return fmt.Errorf("replacement string {%d} refers to input source %d, but there are only %d", t.maxPos, t.maxPos, sources)
	}
	return nil
}
