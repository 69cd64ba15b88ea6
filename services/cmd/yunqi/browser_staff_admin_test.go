package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/services/alliance"
	"github.com/yunqi-town/yunqi/services/identity"
)

// staffAdminCopy is what the journey reads on the pages, per language.
type staffAdminCopy struct {
	lang               string
	person, email      string // the person given the reviewer role
	member             string // a founding member whose tier and membership change
	reviewer           string // the reviewer role's name
	granted            string // the person's timeline entry
	memberTier         string // the member tier's name
	lapsed, reinstated string // the audit's words for them
	tierChange         string
	policy             string
	votesError         string
}

var staffAdminJourneys = []staffAdminCopy{
	{lang: "zh-CN", person: "林晓", email: "linxiao@example.com", member: "oschina", reviewer: "联盟评审",
		granted: "你获得了角色：联盟评审。", memberTier: "成员", lapsed: "使成员资格失效", reinstated: "恢复了成员资格",
		tierChange: "将级别从创始成员改为成员", policy: "设置评审规则：3 票赞成，2 票反对", votesError: "请输入 1 到 10 之间的整数票数。"},
	{lang: "en", person: "Grace Hopper", email: "grace@example.com", member: "cnblogs", reviewer: "alliance reviewer",
		granted: "You were given the role alliance reviewer.", memberTier: "Member", lapsed: "Let the membership lapse",
		reinstated: "Reinstated the membership", tierChange: "Changed the tier from Founding member to Member",
		policy: "Set the review policy: 3 approvals, 2 rejections", votesError: "Enter a whole number of votes from 1 to 10."},
}

// TestBrowserStaffAdmin, in Chinese and in English: an organiser finds a
// person on the roles page and makes them a reviewer, moves a founding
// member to the member tier, lets its membership lapse (its page and the
// directory say so) and reinstates it, changes the review policy (a bad
// number is refused at the field), and finds each of those actions in the
// alliance audit with their own name; the person's timeline shows the
// grant without saying who made it.
func TestBrowserStaffAdmin(t *testing.T) {
	browser := startBrowser(t)
	a := newTestApp(t, "")
	srv := httptest.NewServer(a.app.server)
	t.Cleanup(srv.Close)
	if err := alliance.SeedDemo(t.Context(), a.store); err != nil {
		t.Fatal(err)
	}
	const orgName, orgEmail = "杜勇", "duyong@example.com"
	a.signUp(orgEmail, orgName)
	if _, err := identity.GrantRole(t.Context(), a.store, a.claims(t), orgEmail, auth.RoleOrganizer, "test"); err != nil {
		t.Fatal(err)
	}
	for _, c := range staffAdminJourneys {
		t.Run(c.lang, func(t *testing.T) {
			a.signUp(c.email, c.person)
			org := openTab(t, browser, srv.URL, "organiser-"+c.lang, c.lang)

			// Roles: find the person by address and grant reviewer.
			org.logInAt("/identity/staff", orgEmail)
			org.fill("#f-q", c.email)
			org.clickAndWait(`form[role="search"] button`, "/identity/staff")
			if got := org.text("table.staff-people tbody th"); got != c.person {
				t.Fatalf("the search found %q, want %s", got, c.person)
			}
			org.step("found")
			org.clickAndWait(`form.row-form:has(input[name="role"][value="reviewer"]) button`, "/identity/staff")
			if got := org.text("td.person-roles"); !strings.Contains(got, c.reviewer) {
				t.Errorf("after the grant the roles read %q, want %s among them", got, c.reviewer)
			}
			org.step("granted")

			// Tier: the founding member becomes a member.
			row := "#m-" + c.member
			org.open("/alliance/admin")
			org.eval(`document.querySelector("` + row + ` select[name=tier]").value = "member"`)
			org.clickAndWait(row+` form:has(input[name="action"][value="tier"]) button`, "/alliance/admin")
			org.open("/alliance/members/" + c.member)
			if got := org.text("dl.facts dd"); got != c.memberTier {
				t.Errorf("the member's tier reads %q, want %s", got, c.memberTier)
			}

			// Lapse: the page stays, marked; the directory lists it apart.
			org.open("/alliance/admin")
			org.fill("#f-m-"+c.member+"-reason", "2026")
			org.clickAndWait(row+` form:has(input[name="action"][value="lapse"]) button`, "/alliance/admin")
			org.step("lapsed")
			org.open("/alliance/members/" + c.member)
			if n := org.eval(`String(document.querySelectorAll(".member-lapsed").length)`); n != "1" {
				t.Errorf("the lapsed member's page does not say it lapsed")
			}
			org.open("/alliance/members")
			if org.eval(`String(!!document.querySelector('section.lapsed-members a[href="/alliance/members/`+c.member+`"]'))`) != "true" {
				t.Errorf("the directory's lapsed section does not list %s", c.member)
			}
			org.open("/alliance/admin")
			org.clickAndWait(row+` form:has(input[name="action"][value="reinstate"]) button`, "/alliance/admin")
			org.open("/alliance/members/" + c.member)
			if n := org.eval(`String(document.querySelectorAll(".member-lapsed").length)`); n != "0" {
				t.Errorf("the reinstated member's page still says it lapsed")
			}

			// Policy: a number out of range is refused at its field, then 3.
			org.open("/alliance/admin/policy")
			org.fill("#f-approvals-required", "0")
			org.clickAndWait(`form[action="/alliance/admin/policy"] button[type="submit"]`, "/alliance/admin/policy")
			if got := org.text("#f-approvals-required-error"); !strings.Contains(got, c.votesError) {
				t.Errorf("the refused number's message is %q, want %q", got, c.votesError)
			}
			if got := org.eval(`document.querySelector("#f-approvals-required").getAttribute("aria-invalid")`); got != "true" {
				t.Errorf("the refused field is not marked invalid (%q)", got)
			}
			org.fill("#f-approvals-required", "3")
			org.fill("#f-rejections-required", "2")
			org.clickAndWait(`form[action="/alliance/admin/policy"] button[type="submit"]`, "/alliance/admin/policy")
			if got := org.eval(`document.querySelector("#f-approvals-required").value`); got != "3" {
				t.Errorf("the saved policy reads %q approvals", got)
			}
			org.step("policy")

			// The audit names the organiser beside each action.
			org.open("/alliance/audit")
			rows := org.eval(`Array.from(document.querySelectorAll("table.audit-table tbody tr")).map(r => r.innerText).join("\n")`)
			for _, want := range []string{c.tierChange, c.lapsed, c.reinstated, c.policy} {
				found := false
				for _, line := range strings.Split(rows, "\n") {
					if strings.Contains(line, want) && strings.Contains(line, orgName) {
						found = true
					}
				}
				if !found {
					t.Errorf("the audit has no row %q by %s:\n%s", want, orgName, rows)
				}
			}
			org.eval(`document.querySelector("#f-kind").value = "lapse"`)
			org.clickAndWait(`form.audit-filter button[type="submit"]`, "/alliance/audit")
			lapses := org.eval(`Array.from(document.querySelectorAll("table.audit-table tbody tr")).map(r => r.innerText).join("\n")`)
			if strings.Contains(lapses, c.reinstated) || strings.Contains(lapses, c.policy) || !strings.Contains(lapses, c.lapsed) {
				t.Errorf("filtered to lapses the audit shows:\n%s", lapses)
			}
			org.step("audit")

			// The roles history names the organiser too.
			org.open("/identity/staff/audit")
			if hist := org.text("table.audit-table tbody"); !strings.Contains(hist, orgName) || !strings.Contains(hist, c.person) {
				t.Errorf("the roles history lacks the organiser or the person:\n%s", hist)
			}

			// The person's own timeline shows the grant, not who made it.
			person := openTab(t, browser, srv.URL, "person-"+c.lang, c.lang)
			person.logInAt("/identity/me", c.email)
			timeline := person.text("#timeline")
			if !strings.Contains(timeline, c.granted) {
				t.Errorf("the person's timeline lacks %q:\n%s", c.granted, timeline)
			}
			if main := person.eval(`document.querySelector("main").innerText`); strings.Contains(main, orgName) {
				t.Errorf("the person's page names the organiser:\n%s", main)
			}
			person.step("timeline")
		})
	}
}
