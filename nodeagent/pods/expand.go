package pods

import "strings"

// Expand replaces $(VAR) references in s as Kubernetes does for command,
// args and env values: $(VAR) becomes VAR's value when mapping knows it and
// stays as written otherwise; $$ is an escaped $ ("$$(VAR)" yields
// "$(VAR)"); a $ before anything else is kept.
func Expand(s string, mapping func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				// Unterminated: kept as written, as Kubernetes does.
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := mapping(name); ok && name != "" {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// Argv returns a container's command line by the Kubernetes rules:
// command replaces the image's ENTRYPOINT and args its CMD; with command
// given and args not, the image's CMD is dropped too. $(VAR) references in
// command and args are expanded against env (the container's own
// environment, not the image's).
func Argv(command, args, imageEntrypoint, imageCmd []string, env func(string) (string, bool)) []string {
	var out []string
	switch {
	case len(command) > 0:
		out = append(out, command...)
		out = append(out, args...)
	case len(args) > 0:
		out = append(out, imageEntrypoint...)
		out = append(out, args...)
	default:
		out = append(out, imageEntrypoint...)
		out = append(out, imageCmd...)
		return out // the image's own words are not expanded
	}
	for i := range out {
		out[i] = Expand(out[i], env)
	}
	return out
}
