package rbac

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The policy file, as written by people. Field tags are the YAML names;
// every struct records its position for error messages. See doc.go for
// the format.

type fileDoc struct {
	lineRec
	Version  int           `yaml:"version"`
	Issuers  []fileIssuer  `yaml:"issuers"`
	Groups   []fileGroup   `yaml:"groups"`
	Roles    []fileRole    `yaml:"roles"`
	Mappings []fileMapping `yaml:"mappings"`
	Deny     []fileDeny    `yaml:"deny"`
	SoD      []fileSoD     `yaml:"separation_of_duties"`
	Tests    []fileTest    `yaml:"tests"`
}

type fileIssuer struct {
	lineRec
	Name     string     `yaml:"name"`
	Issuer   string     `yaml:"issuer"`
	GroupIDs string     `yaml:"group_ids"`
	Claims   fileClaims `yaml:"claims"`
	Tenants  []pstr     `yaml:"tenants"`
	V1Issuer string     `yaml:"v1_issuer"`
}

type fileClaims struct {
	lineRec
	Groups string `yaml:"groups"`
	Roles  string `yaml:"roles"`
	Scopes string `yaml:"scopes"`
}

type fileGroup struct {
	lineRec
	ID     string `yaml:"id"`
	Name   string `yaml:"name"`
	Issuer string `yaml:"issuer"`
}

type fileRole struct {
	lineRec
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Permissions []pstr `yaml:"permissions"`
}

type fileMapping struct {
	lineRec
	ID          string    `yaml:"id"`
	Description string    `yaml:"description"`
	When        *cond     `yaml:"when"`
	Grant       fileGrant `yaml:"grant"`
}

type fileGrant struct {
	lineRec
	Roles    []pstr    `yaml:"roles"`
	AWS      []fileAWS `yaml:"aws"`
	ADGroups []pstr    `yaml:"ad_groups"`
}

type fileAWS struct {
	lineRec
	RoleARN        string            `yaml:"role_arn"`
	Duration       time.Duration     `yaml:"duration"`
	SessionTags    map[string]string `yaml:"session_tags"`
	SourceIdentity string            `yaml:"source_identity"`
}

type fileDeny struct {
	lineRec
	ID          string `yaml:"id"`
	Description string `yaml:"description"`
	When        *cond  `yaml:"when"`
	Reason      string `yaml:"reason"`
}

type fileSoD struct {
	lineRec
	ID          string `yaml:"id"`
	Description string `yaml:"description"`
	Roles       []pstr `yaml:"roles"`
}

type fileTest struct {
	lineRec
	Name   string     `yaml:"name"`
	Claims *yaml.Node `yaml:"claims"`
	Expect fileExpect `yaml:"expect"`
}

type fileExpect struct {
	lineRec
	Allowed  *bool  `yaml:"allowed"`
	Roles    []pstr `yaml:"roles"`
	Can      []pstr `yaml:"can"`
	Cannot   []pstr `yaml:"cannot"`
	AWSRoles []pstr `yaml:"aws_roles"`
	ADGroups []pstr `yaml:"ad_groups"`
	Reason   string `yaml:"reason"`
	DeniedBy string `yaml:"denied_by"`
}

// pstr is a string list element that remembers where it was written, so
// "undeclared role" points at the role, not at its list.
type pstr struct {
	lineRec
	v string
}

func (p *pstr) decodeNode(d *decoder, n *yaml.Node, path string) {
	p.setPos(n)
	p.v, _ = d.scalar(n, path, "a string")
}

func strs(ps []pstr) []string {
	if ps == nil {
		return nil
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.v
	}
	return out
}

// Leaf kinds of a condition. The order is also the display order.
const (
	leafIssuer = iota
	leafTenant
	leafGroup
	leafAppRole
	leafScope
	leafClaim
	leafMFA
	leafACR
)

var leafNames = [...]string{
	leafIssuer:  "issuer",
	leafTenant:  "tenant",
	leafGroup:   "group",
	leafAppRole: "app_role",
	leafScope:   "scope",
	leafClaim:   "claim",
	leafMFA:     "mfa",
	leafACR:     "acr",
}

// leaf is one test on the claims.
type leaf struct {
	kind  int
	name  string // claim name for leafClaim
	value string
	line  int
	col   int
	path  string
}

// cond is a `when` object: every key must hold (AND). all: lists
// conditions that must all hold, any: conditions of which one must hold.
type cond struct {
	lineRec
	path   string
	leaves []leaf
	all    []*cond
	any    []*cond
}

func (c *cond) decodeNode(d *decoder, n *yaml.Node, path string) {
	c.path = path
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a condition mapping (keys: all, any, %s)", strings.Join(leafNames[:], ", "))
		return
	}
	c.setPos(n)
	if len(n.Content) == 0 {
		d.errorf(n, path, "empty condition: a mapping must say when it applies")
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key, ok := d.scalar(k, path, "a condition key")
		if !ok {
			continue
		}
		sub := path + "." + key
		if line, dup := seen[key]; dup {
			d.errorf(k, sub, "duplicate key (first at line %d); use all: or any: to combine several", line)
			continue
		}
		seen[key] = k.Line
		if !d.plain(v, sub) {
			continue
		}
		switch key {
		case "all", "any":
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				d.errorf(v, sub, "expected a non-empty list of conditions")
				continue
			}
			for j, e := range v.Content {
				sc := &cond{}
				sc.decodeNode(d, e, fmt.Sprintf("%s[%d]", sub, j))
				if key == "all" {
					c.all = append(c.all, sc)
				} else {
					c.any = append(c.any, sc)
				}
			}
		case "mfa":
			if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" || v.Value != "true" {
				d.errorf(v, sub, "mfa only takes true (a policy cannot require the absence of MFA)")
				continue
			}
			c.leaves = append(c.leaves, leaf{kind: leafMFA, value: "true", line: v.Line, col: v.Column, path: sub})
		case "claim":
			var fc struct {
				lineRec
				Name   string `yaml:"name"`
				Equals string `yaml:"equals"`
			}
			d.decodeStruct(v, reflect0(&fc), sub)
			c.leaves = append(c.leaves, leaf{kind: leafClaim, name: fc.Name, value: fc.Equals, line: v.Line, col: v.Column, path: sub})
		default:
			kind := -1
			for i, nm := range leafNames {
				if nm == key && i != leafMFA && i != leafClaim {
					kind = i
				}
			}
			if kind < 0 {
				d.errorf(k, path, "unknown condition %q (expected all, any, %s)", key, strings.Join(leafNames[:], ", "))
				continue
			}
			s, ok := d.scalar(v, sub, "a string")
			if !ok {
				continue
			}
			c.leaves = append(c.leaves, leaf{kind: kind, value: s, line: v.Line, col: v.Column, path: sub})
		}
	}
}
