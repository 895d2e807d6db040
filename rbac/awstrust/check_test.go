package awstrust_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/idbridge/idbridge/rbac/awstrust"
)

func TestCheckDrift(t *testing.T) {
	want := bankTrusts(t)[0]
	const host = "login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0"
	exact := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},
	 "Action":["sts:AssumeRoleWithWebIdentity","sts:SetSourceIdentity","sts:TagSession"],
	 "Condition":{"StringEquals":{"` + host + `:aud":"` + awsClient + `","aws:RequestTag/Department":"Lending","aws:RequestTag/Function":"RelationshipManager"},
	  "ForAllValues:StringEquals":{"aws:TagKeys":["Department","Function"]},"Null":{"sts:SourceIdentity":"false"}}}]}`
	tests := []struct {
		name, doc string
		want      []string // substrings of the drifts, in order
	}{
		{"exact", exact, nil},
		{"exact with a deny added", exact[:len(exact)-2] + `,{"Effect":"Deny","Principal":"*","Action":"sts:*"}]}`, nil},
		{"no aud condition", strings.Replace(exact, `"`+host+`:aud":"`+awsClient+`",`, ``, 1), []string{"wider " + readOnly + " statement 0: missing condition StringEquals " + host + ":aud"}},
		{"aud by wildcard", strings.Replace(exact, `"StringEquals":{"`+host+`:aud":"`+awsClient+`",`, `"StringLike":{"`+host+`:aud":"*"},"StringEquals":{`, 1),
			[]string{"condition StringLike on " + host + ":aud is not StringEquals"}},
		{"extra audience", strings.Replace(exact, `:aud":"`+awsClient+`"`, `:aud":["`+awsClient+`","other-app"]`, 1), []string{`admits "other-app"`}},
		{"extra principal", exact[:len(exact)-2] + `,{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole"}]}`,
			[]string{`principal AWS "arn:aws:iam::444455556666:root" is not granted`}},
		{"wildcard principal", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole*"}}`,
			[]string{"wildcard action", "wildcard principal", "missing"}},
		{"another provider", strings.Replace(exact, provider, "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com", 1),
			[]string{"is not granted the role", "no statement admits"}},
		{"not principal", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"x"},"Action":"sts:AssumeRole"}]}`,
			[]string{"NotPrincipal", "missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := awstrust.DecodeDocument(url.PathEscape(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			ds, err := awstrust.Check(want, doc)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != len(tt.want) {
				t.Fatalf("got %d drifts, want %d: %v", len(ds), len(tt.want), ds)
			}
			for i, w := range tt.want {
				if !strings.Contains(ds[i].String(), w) {
					t.Errorf("drift %d %q lacks %q", i, ds[i], w)
				}
			}
		})
	}
}

func TestCheckUnexpectedDocument(t *testing.T) {
	want := bankTrusts(t)[0]
	for _, doc := range []string{
		``, `[]`, `{"Version":"2012-10-17"`, `{"Version":"2019-01-01","Statement":[]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":{"x":1}}}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Princpal":"*"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Condition":{"StringEquals":{"k":{"x":1}}}}]}`,
		strings.Repeat(" ", 64<<10+1),
	} {
		b, err := awstrust.DecodeDocument(doc)
		if err == nil {
			_, err = awstrust.Check(want, b)
		}
		if !errors.Is(err, awstrust.ErrUnexpectedDocument) {
			t.Errorf("%.60q: %v", doc, err)
		}
	}
	if _, err := awstrust.DecodeDocument("%7B%zz"); !errors.Is(err, awstrust.ErrUnexpectedDocument) {
		t.Errorf("bad escape: %v", err)
	}
}
