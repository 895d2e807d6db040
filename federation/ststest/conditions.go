package ststest

import (
	"path"
	"strings"
)

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// matches applies a condition to the values of its key. A single-valued
// operator on a multi-valued key holds when every value matches, which is
// how IAM treats an aud list under StringEquals.
func matches(cond Condition, got []string) bool {
	if len(got) == 0 {
		return false
	}
	like := cond.Op == StringLike || cond.Op == ForAnyValueStringLike
	one := func(v string) bool {
		for _, want := range cond.Values {
			if like {
				if ok, _ := path.Match(want, v); ok || want == v {
					return true
				}
			} else if want == v {
				return true
			}
		}
		return false
	}
	anyValue := strings.HasPrefix(cond.Op, "ForAnyValue:")
	for _, v := range got {
		if one(v) {
			if anyValue {
				return true
			}
		} else if !anyValue {
			return false
		}
	}
	return !anyValue
}
