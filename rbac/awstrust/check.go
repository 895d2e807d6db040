package awstrust

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Kinds of [Drift].
const (
	// DriftWider: the role admits someone the grant does not (an extra or
	// wildcard principal, a missing or wider condition).
	DriftWider = "wider"
	// DriftMissing: the role does not admit a principal the grant names
	// (members would be refused by STS), or the role does not exist.
	DriftMissing = "missing"
)

// Drift is one difference between a role's trust policy and the one
// generated from the grant.
type Drift struct {
	RoleARN   string `json:"role_arn"`
	Kind      string `json:"kind"`
	Statement int    `json:"statement"` // index in the actual document; -1 for the whole role
	Detail    string `json:"detail"`
}

func (d Drift) String() string {
	s := d.Kind + " " + d.RoleARN
	if d.Statement >= 0 {
		s += fmt.Sprintf(" statement %d", d.Statement)
	}
	return s + ": " + d.Detail
}

// maxDocumentSize bounds a trust policy document (IAM allows 2,048
// characters by default, 8,192 with a quota increase).
const maxDocumentSize = 64 << 10

// DecodeDocument reads a trust policy as IAM's GetRole returns it
// (AssumeRolePolicyDocument, URL-encoded per RFC 3986) or as plain JSON.
func DecodeDocument(s string) ([]byte, error) {
	if len(s) > maxDocumentSize*3 {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrUnexpectedDocument, maxDocumentSize)
	}
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "%7B") || strings.HasPrefix(t, "%7b") {
		// PathUnescape: a literal '+' (allowed in role names) stays '+'.
		d, err := url.PathUnescape(t)
		if err != nil {
			return nil, fmt.Errorf("%w: bad URL encoding", ErrUnexpectedDocument)
		}
		s = d
	}
	if len(s) > maxDocumentSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrUnexpectedDocument, maxDocumentSize)
	}
	return []byte(s), nil
}

// statement is a trust policy statement as IAM accepts it: most fields
// may be a string or a list.
type statement struct {
	Sid          string                        `json:"Sid"`
	Effect       string                        `json:"Effect"`
	Principal    json.RawMessage               `json:"Principal"`
	NotPrincipal json.RawMessage               `json:"NotPrincipal"`
	Action       strList                       `json:"Action"`
	NotAction    strList                       `json:"NotAction"`
	Resource     json.RawMessage               `json:"Resource"`
	Condition    map[string]map[string]strList `json:"Condition"`
}

type strList []string

// UnmarshalJSON takes a scalar or a list of scalars; IAM accepts
// booleans and numbers as condition values and compares them as text.
func (l *strList) UnmarshalJSON(b []byte) error {
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return err
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		switch e := e.(type) {
		case string:
			out = append(out, e)
		case bool, json.Number:
			out = append(out, fmt.Sprint(e))
		default:
			return errors.New("expected a string or a list of strings")
		}
	}
	*l = out
	return nil
}

// parse reads a trust policy document strictly.
func parse(doc []byte) ([]statement, error) {
	var d struct {
		Version   string          `json:"Version"`
		ID        string          `json:"Id"`
		Statement json.RawMessage `json:"Statement"`
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrUnexpectedDocument, jsonMsg(err))
	}
	if d.Version != "2012-10-17" && d.Version != "2008-10-17" {
		return nil, fmt.Errorf("%w: Version %q", ErrUnexpectedDocument, d.Version)
	}
	raw := bytes.TrimSpace(d.Statement)
	if len(raw) > 0 && raw[0] == '{' {
		raw = append(append([]byte{'['}, raw...), ']')
	}
	var sts []statement
	dec = json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sts); err != nil {
		return nil, fmt.Errorf("%w: Statement: %s", ErrUnexpectedDocument, jsonMsg(err))
	}
	for i, s := range sts {
		if s.Effect != "Allow" && s.Effect != "Deny" {
			return nil, fmt.Errorf("%w: statement %d: Effect %q", ErrUnexpectedDocument, i, s.Effect)
		}
	}
	return sts, nil
}

// jsonMsg keeps a decoding error's position, never the document.
func jsonMsg(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	return err.Error()
}

// principals reads a Principal: "*" or {"Federated"|"AWS"|"Service"|
// "CanonicalUser": string or list}.
func principals(raw json.RawMessage) (map[string][]string, error) {
	var star string
	if json.Unmarshal(raw, &star) == nil {
		return map[string][]string{"*": {star}}, nil
	}
	var m map[string]strList
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: Principal: %s", ErrUnexpectedDocument, jsonMsg(err))
	}
	out := map[string][]string{}
	for k, v := range m {
		out[k] = v
	}
	return out, nil
}

// Check compares a role's actual trust policy (JSON, see DecodeDocument)
// with the generated one and lists every drift. An actual document it
// cannot read fails with ErrUnexpectedDocument rather than being reported
// as clean.
func Check(want Trust, actual []byte) ([]Drift, error) {
	sts, err := parse(actual)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", want.RoleARN, err)
	}
	var drifts []Drift
	wider := func(i int, format string, args ...any) {
		drifts = append(drifts, Drift{RoleARN: want.RoleARN, Kind: DriftWider, Statement: i, Detail: fmt.Sprintf(format, args...)})
	}
	expected := map[string]Statement{}
	for _, s := range want.Document.Statement {
		expected[s.Principal.Federated] = s
	}
	admitted := map[string]bool{}
	for i, s := range sts {
		if s.Effect == "Deny" {
			continue // a deny only narrows
		}
		if len(s.NotPrincipal) > 0 {
			wider(i, "Allow with NotPrincipal admits everyone not listed")
			continue
		}
		if len(s.NotAction) > 0 {
			wider(i, "Allow with NotAction %v", []string(s.NotAction))
		}
		for _, a := range s.Action {
			if strings.Contains(a, "*") {
				wider(i, "wildcard action %q", a)
			}
		}
		ps, err := principals(s.Principal)
		if err != nil {
			return nil, fmt.Errorf("%s: statement %d: %w", want.RoleARN, i, err)
		}
		for kind, vals := range ps {
			for _, p := range vals {
				w, ok := expected[p]
				switch {
				case kind == "*" || p == "*":
					wider(i, "wildcard principal")
				case kind != "Federated" || !ok:
					wider(i, "principal %s %q is not granted the role", kind, p)
				default:
					admitted[p] = true
					for _, d := range conditionDrift(w, s) {
						wider(i, "%s", d)
					}
				}
			}
		}
	}
	for _, s := range want.Document.Statement {
		if !admitted[s.Principal.Federated] {
			drifts = append(drifts, Drift{RoleARN: want.RoleARN, Kind: DriftMissing, Statement: -1,
				Detail: fmt.Sprintf("no statement admits %s: members of the granted groups would be refused", s.Principal.Federated)})
		}
	}
	return drifts, nil
}

// conditionDrift lists each condition the generated statement has that
// the actual one lacks or widens. An actual StringEquals (or
// StringEqualsIgnoreCase for aud) on the same key with a subset of the
// values holds; anything else does not.
func conditionDrift(want Statement, got statement) []string {
	var out []string
	for op, kv := range want.Condition {
		for key, vals := range kv {
			gotVals, ok := got.Condition[op][key]
			if !ok {
				if op == "StringEquals" {
					if v, ok2 := findKey(got.Condition, key); ok2 {
						out = append(out, fmt.Sprintf("condition %s on %s is not StringEquals", v, key))
						continue
					}
				}
				out = append(out, fmt.Sprintf("missing condition %s %s %v", op, key, vals))
				continue
			}
			for _, g := range gotVals {
				if strings.ContainsAny(g, "*?") && op != "Null" {
					out = append(out, fmt.Sprintf("condition %s %s has wildcard value %q", op, key, g))
				} else if !slices.Contains(vals, g) {
					out = append(out, fmt.Sprintf("condition %s %s admits %q, which the grant does not", op, key, g))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func findKey(conds map[string]map[string]strList, key string) (string, bool) {
	for op, kv := range conds {
		if _, ok := kv[key]; ok {
			return op, true
		}
	}
	return "", false
}
