package cli

import (
	"strconv"
	"strings"
)

// Parse reads par's command line with GNU parallel's syntax (Perl's
// Getopt::Long with bundling and require_order): short options cluster
// (-kj4), long options take --opt=val or --opt val and may be shortened to
// any unique prefix, and the first word that is not an option starts the
// command. Input sources follow the command after :::, ::::, :::+ or ::::+.
func Parse(args []string) (*Options, error) {
	o := &Options{Repl: DefaultReplacements(), ArgSep: ":::", ArgFileSep: "::::"}
	table := specs(o)
	short := map[string]*optSpec{}
	long := map[string]*optSpec{}
	for i := range table {
		for _, n := range table[i].names {
			if len(n) == 1 {
				short[n] = &table[i]
			} else {
				long[n] = &table[i]
			}
		}
	}
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		i++
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			sp, err := lookupLong(long, name)
			if err != nil {
				return nil, err
			}
			switch {
			case sp.arg == 0 && hasVal:
				return nil, usagef("option --%s does not take an argument", name)
			case sp.arg == 2 && !hasVal && i < len(args) && !strings.HasPrefix(args[i], "-"):
				// Getopt::Long gives an optional value the next word
				// unless that looks like an option.
				val = args[i]
				i++
			case sp.arg == 1 && !hasVal:
				if i >= len(args) {
					return nil, usagef("option --%s requires an argument", name)
				}
				val = args[i]
				i++
			}
			if err := sp.set(o, val); err != nil {
				return nil, err
			}
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j : j+1]
			sp := short[c]
			if sp == nil {
				return nil, usagef("unknown option: %s", c)
			}
			if sp.arg == 0 {
				if err := sp.set(o, ""); err != nil {
					return nil, err
				}
				continue
			}
			val := a[j+1:]
			if val == "" && sp.arg == 2 && i < len(args) && !strings.HasPrefix(args[i], "-") {
				val = args[i]
				i++
			}
			if val == "" && sp.arg == 1 {
				if i >= len(args) {
					return nil, usagef("option -%s requires an argument", c)
				}
				val = args[i]
				i++
			}
			if err := sp.set(o, val); err != nil {
				return nil, err
			}
			break
		}
	}
	return o, o.splitSources(args[i:])
}

// lookupLong finds a long option by its name or a unique prefix of it.
func lookupLong(long map[string]*optSpec, name string) (*optSpec, error) {
	if sp, ok := long[name]; ok {
		return sp, nil
	}
	var found *optSpec
	var names []string
	for n, sp := range long {
		if strings.HasPrefix(n, name) && sp != found {
			if found != nil {
				names = append(names, n)
				return nil, usagef("option --%s is ambiguous (%s)", name, strings.Join(names, ", "))
			}
			found = sp
			names = append(names, n)
		}
	}
	if found == nil || name == "" {
		return nil, usagef("unknown option: --%s", name)
	}
	return found, nil
}

// splitSources separates the command from the input sources after it.
func (o *Options) splitSources(rest []string) error {
	for _, f := range o.ArgFiles {
		o.Sources = append(o.Sources, Source{File: f})
	}
	k := 0
	for k < len(rest) && !o.isSep(rest[k]) {
		k++
	}
	o.Command = rest[:k]
	var cur *Source
	for _, w := range rest[k:] {
		switch w {
		case o.ArgSep, o.ArgSep + "+":
			o.Sources = append(o.Sources, Source{Args: []string{}, Linked: w != o.ArgSep})
			cur = &o.Sources[len(o.Sources)-1]
			continue
		case o.ArgFileSep, o.ArgFileSep + "+":
			o.Sources = append(o.Sources, Source{Linked: w != o.ArgFileSep})
			cur = nil
			continue
		}
		if cur != nil {
			cur.Args = append(cur.Args, w)
			continue
		}
		// A file source takes one file per word: :::: a b is two sources.
		last := &o.Sources[len(o.Sources)-1]
		if last.File != "" {
			o.Sources = append(o.Sources, Source{})
			last = &o.Sources[len(o.Sources)-1]
		}
		last.File = w
	}
	for _, s := range o.Sources {
		if s.Args == nil && s.File == "" {
			return usagef("%s must be followed by a file name", o.ArgFileSep)
		}
	}
	if len(o.Sources) > 0 && o.Sources[0].Linked {
		o.Sources[0].Linked = false
	}
	return nil
}

func (o *Options) isSep(w string) bool {
	return w == o.ArgSep || w == o.ArgSep+"+" || w == o.ArgFileSep || w == o.ArgFileSep+"+"
}

// unescapeDelim reads -d's value, which may be written with C escapes
// such as \n, \t, \0 or \x2c.
func unescapeDelim(v string) (string, error) {
	if !strings.Contains(v, `\`) {
		return v, nil
	}
	s, err := strconv.Unquote(`"` + strings.ReplaceAll(v, `"`, `\"`) + `"`)
	if err != nil {
		if v == `\0` {
			return "\x00", nil
		}
		return "", usagef("cannot read delimiter %q", v)
	}
	return s, nil
}
