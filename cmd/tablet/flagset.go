package main

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// flagSet is a flag.FlagSet whose flags are listed in named groups by
// --help, and which accepts every flag spelled with dashes or underscores
// (vttablet registered its flags with underscores; newer releases use
// dashes).
type flagSet struct {
	*flag.FlagSet
	groups []flagGroup
}

type flagGroup struct {
	title string
	names []string
}

func newFlagSet(name string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by main, once
	return &flagSet{FlagSet: fs}
}

// group registers the flags that define adds under a --help heading.
func (f *flagSet) group(title string, define func(fs *flag.FlagSet)) {
	before := map[string]bool{}
	f.VisitAll(func(fl *flag.Flag) { before[fl.Name] = true })
	define(f.FlagSet)
	g := flagGroup{title: title}
	f.VisitAll(func(fl *flag.Flag) {
		if !before[fl.Name] {
			g.names = append(g.names, fl.Name)
		}
	})
	sort.Strings(g.names)
	f.groups = append(f.groups, g)
}

// parse normalizes the spelling of each flag name and parses args.
func (f *flagSet) parse(args []string) error {
	return f.Parse(f.normalize(args))
}

// normalize rewrites "--init-keyspace=x" to the registered
// "--init_keyspace=x" (and the reverse) so both spellings work. Arguments
// after "--" and values are left alone.
func (f *flagSet) normalize(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" || !strings.HasPrefix(a, "-") {
			if a == "--" {
				return append(out, args[i:]...)
			}
			out = append(out, a)
			continue
		}
		dashes := "-"
		name := a[1:]
		if strings.HasPrefix(name, "-") {
			dashes, name = "--", name[1:]
		}
		value := ""
		if j := strings.IndexByte(name, '='); j >= 0 {
			name, value = name[:j], name[j:]
		}
		if f.Lookup(name) == nil {
			for _, alt := range []string{strings.ReplaceAll(name, "-", "_"), strings.ReplaceAll(name, "_", "-")} {
				if f.Lookup(alt) != nil {
					name = alt
					break
				}
			}
		}
		out = append(out, dashes+name+value)
	}
	return out
}

// usage writes the grouped flag list.
func (f *flagSet) usage(w io.Writer) {
	for _, g := range f.groups {
		fmt.Fprintf(w, "\n%s:\n", g.title)
		for _, n := range g.names {
			fl := f.Lookup(n)
			typ, help := flag.UnquoteUsage(fl)
			if t, ok := fl.Value.(interface{ Type() string }); ok {
				typ = t.Type()
			}
			line := "  --" + n
			if typ != "" {
				line += " " + typ
			}
			def := ""
			if fl.DefValue != "" && fl.DefValue != "0" && fl.DefValue != "false" && fl.DefValue != "0s" && fl.DefValue != "[]" {
				def = fmt.Sprintf(" (default %s)", fl.DefValue)
			}
			fmt.Fprintf(w, "%s\n      %s%s\n", line, help, def)
		}
	}
}

// durationValue is a time.Duration flag that also takes bare seconds
// ("30" or "0.5"), as vttablet's older float-seconds flags did.
type durationValue struct{ d *time.Duration }

func (v durationValue) String() string {
	if v.d == nil {
		return "0s"
	}
	return v.d.String()
}

func (v durationValue) Set(s string) error {
	if d, err := time.ParseDuration(s); err == nil {
		*v.d = d
		return nil
	}
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("want a duration such as 30s, 500ms or bare seconds")
	}
	*v.d = time.Duration(secs * float64(time.Second))
	return nil
}

func (v durationValue) Type() string { return "duration" }

func durationVar(fs *flag.FlagSet, p *time.Duration, name string, usage string) {
	fs.Var(durationValue{p}, name, usage)
}

// tagsValue is a comma-separated list of key:value pairs.
type tagsValue struct{ m *map[string]string }

func (v tagsValue) String() string {
	if v.m == nil || len(*v.m) == 0 {
		return ""
	}
	var parts []string
	for k, val := range *v.m {
		parts = append(parts, k+":"+val)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (v tagsValue) Type() string { return "key:value,..." }

func (v tagsValue) Set(s string) error {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv == "" {
			continue
		}
		k, val, ok := strings.Cut(kv, ":")
		if !ok || k == "" {
			return fmt.Errorf("%q is not key:value", kv)
		}
		m[k] = val
	}
	*v.m = m
	return nil
}
