package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// knownShells are the shells GNU parallel recognises as a parent process.
var knownShells = map[string]bool{"ash": true, "bash": true, "csh": true, "dash": true,
	"fdsh": true, "fish": true, "fizsh": true, "ksh": true, "ksh93": true, "lksh": true,
	"mksh": true, "pdksh": true, "posh": true, "rbash": true, "rush": false, "rzsh": true,
	"sash": true, "sh": true, "static-sh": true, "tcsh": true, "yash": true, "zsh": true}

// pickShell chooses the shell that runs the commands the way GNU parallel
// does: $PARALLEL_SHELL, else the shell par was started from, else $SHELL,
// else /bin/sh. So `par 'echo {}; [[ -n x ]]'` works from bash as it does
// with GNU parallel.
func pickShell(getenv func(string) string) string {
	if s := getenv("PARALLEL_SHELL"); s != "" {
		return s
	}
	if s := parentShell(os.Getppid()); s != "" {
		return s
	}
	if s := getenv("SHELL"); s != "" {
		return s
	}
	return "/bin/sh"
}

// parentShell walks up the process tree (Linux /proc) looking for a shell.
func parentShell(pid int) string {
	for depth := 0; pid > 1 && depth < 16; depth++ {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err != nil {
			return ""
		}
		argv0, _, _ := strings.Cut(string(b), "\x00")
		name := strings.TrimPrefix(filepath.Base(argv0), "-")
		if knownShells[name] {
			if exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); err == nil {
				return exe
			}
			if p, err := exec.LookPath(name); err == nil {
				return p
			}
		}
		st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return ""
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		s := string(st)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			return ""
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			return ""
		}
		pid, _ = strconv.Atoi(f[1])
	}
	return ""
}

// shellBuiltins are words a shell runs itself; running the program of the
// same name instead could behave differently (dash's echo expands
// backslashes, cd has no program). true and false are left out: they act
// the same either way, and `par true` is the common benchmark.
var shellBuiltins = map[string]bool{
	"alias": true, "bg": true, "bind": true, "break": true, "builtin": true, "caller": true,
	"cd": true, "command": true, "compgen": true, "complete": true, "continue": true,
	"declare": true, "dirs": true, "disown": true, "echo": true, "enable": true, "eval": true,
	"exec": true, "exit": true, "export": true, "fc": true, "fg": true, "getopts": true,
	"hash": true, "help": true, "history": true, "jobs": true, "kill": true, "let": true,
	"local": true, "logout": true, "popd": true, "printf": true, "pushd": true, "pwd": true,
	"read": true, "readonly": true, "return": true, "set": true, "shift": true, "shopt": true,
	"source": true, "suspend": true, "test": true, "times": true, "trap": true, "type": true,
	"typeset": true, "ulimit": true, "umask": true, "unalias": true, "unset": true, "wait": true,
	"time": true, "if": true, "then": true, "else": true, "elif": true, "fi": true, "case": true,
	"esac": true, "for": true, "while": true, "until": true, "do": true, "done": true,
	"function": true, "select": true, "coproc": true, "[": true, "[[": true, "{": true, "!": true,
	".": true, ":": true,
}

// directArgv splits cmd into words when a shell would do nothing but
// split it: bare words and single-quoted strings separated by single
// spaces, a first word that is no builtin, no assignment and a program on
// $PATH. Running such a command without a shell saves starting one; ok is
// false whenever the shell could make a difference.
func directArgv(cmd string, look *pathCache) (path string, argv []string, ok bool) {
	var w strings.Builder
	inWord := false
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch {
		case c == ' ':
			if !inWord {
				return "", nil, false // leading or double space: let the shell decide
			}
			argv = append(argv, w.String())
			w.Reset()
			inWord = false
		case c == '\'':
			j := strings.IndexByte(cmd[i+1:], '\'')
			if j < 0 {
				return "", nil, false
			}
			w.WriteString(cmd[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := strings.IndexByte(cmd[i+1:], '"')
			if j < 0 {
				return "", nil, false
			}
			body := cmd[i+1 : i+1+j]
			if strings.ContainsAny(body, "$`\\!") {
				return "", nil, false
			}
			w.WriteString(body)
			i += j + 1
			inWord = true
		case isBare(cmd[i:i+1]) || c == ',' || c == ':' || c == '@' || c == '%' || c == '=':
			w.WriteByte(c)
			inWord = true
		default:
			return "", nil, false
		}
	}
	if !inWord {
		return "", nil, false
	}
	argv = append(argv, w.String())
	first := argv[0]
	if shellBuiltins[first] || strings.ContainsAny(first, "=%") || first == "" {
		return "", nil, false
	}
	path, found := look.find(first)
	if !found {
		return "", nil, false // let the shell report "not found" and exit 127
	}
	return path, argv, true
}

// pathCache remembers $PATH lookups; par runs the same program many times.
type pathCache struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *pathCache) find(name string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.m[name]; ok {
		return p, p != ""
	}
	p, err := exec.LookPath(name)
	if err != nil || !filepath.IsAbs(p) {
		p = ""
	}
	if c.m == nil {
		c.m = map[string]string{}
	}
	c.m[name] = p
	return p, p != ""
}
