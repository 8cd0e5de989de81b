package manifests

// Without returns a Set holding the objects of s except those with the
// given keys, and the same warnings. Keys that s does not hold are ignored;
// with nothing to leave out it returns s itself. s is not changed.
func (s *Set) Without(keys ...Key) *Set {
	drop := make(map[Key]bool, len(keys))
	for _, k := range keys {
		if _, ok := s.byKey[k]; ok {
			drop[k] = true
		}
	}
	if len(drop) == 0 {
		return s
	}
	objs := make([]*Object, 0, len(s.all)-len(drop))
	for _, o := range s.all {
		if !drop[o.Key] {
			objs = append(objs, o)
		}
	}
	return newSet(objs, s.warnings)
}
