package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/golang-jwt/jwt/v5"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/services/identity"
)

// access is who may use a route.
type access int

const (
	// public: anyone, with or without a token.
	public access = iota
	// signedIn: any account; anonymous callers get 401.
	signedIn
	// roleGated: accounts holding one of the rule's roles; anonymous
	// callers get 401, other accounts 403.
	roleGated
	// refreshSession: authenticated by the refresh token (cookie or body),
	// never by an access token, so every caller here, who sends only a
	// bearer token, gets 401.
	refreshSession
	// pageSession: a page for signed-in people. Pages know visitors by
	// their session cookies, never by a bearer token, so every caller in
	// the matrix is a stranger there and is sent to the log-in page.
	pageSession
)

// routeRule is one row of the authorization matrix.
type routeRule struct {
	access access
	roles  []string // roleGated: the roles allowed
	// path is the URL to request when the pattern has a parameter the
	// test cannot fill in from pathParams, or a wildcard.
	path string
	// body is sent as JSON on unsafe methods; it should be one that an
	// allowed caller could send, so that "allowed" is not a 4xx for a
	// reason that hides a missing check.
	body string
	// revokes: the route revokes the access token it is called with
	// (log-out), so each caller logs in again after it.
	revokes bool
}

// authzTable lists every route the binary serves, keyed "METHOD pattern"
// as chi.Walk reports it; "*" stands for a route mounted for every method.
// A route missing here fails the test: whoever adds a route decides, in
// this table, who may call it.
var authzTable = map[string]routeRule{
	// Operational endpoints: probes and scrapers carry no tokens. /metrics
	// is shielded by the network, not by accounts.
	"GET /healthz": {access: public},
	"GET /readyz":  {access: public},
	"* /metrics":   {access: public},
	"* /static/*":  {access: public, path: "/static/style.css"},

	"GET /api/openapi.json":      {access: public},
	"GET /.well-known/jwks.json": {access: public},

	// identity
	"POST /api/identity/users":          {access: public, body: `{}`},
	"POST /api/identity/tokens":         {access: public, body: `{}`},
	"DELETE /api/identity/tokens":       {access: public, revokes: true},
	"POST /api/identity/tokens/refresh": {access: refreshSession},
	"GET /api/identity/people/{id}":     {access: public},
	"GET /api/identity/me":              {access: signedIn},
	"GET /api/identity/me/profile":      {access: signedIn},
	"PUT /api/identity/me/profile":      {access: signedIn, body: `{"display_name":"Matrix"}`},
	"GET /api/identity/me/timeline":     {access: signedIn},

	// identity: the member's language and email address
	"PUT /api/identity/me/language":            {access: signedIn, body: `{"lang":"en"}`},
	"PUT /api/identity/me/email":               {access: signedIn, body: `{"email":"moved@matrix.example.com","password":"wrong password"}`},
	"POST /api/identity/me/email/verification": {access: signedIn},
	"DELETE /api/identity/me":                  {access: signedIn, body: `{"password":"wrong password"}`},
	"GET /api/identity/me/export":              {access: signedIn},

	// blog: reading is public, importing is for organizers
	"GET /api/blog/blogs":                     {access: public},
	"GET /api/blog/blogs/{blog}/posts":        {access: public, path: "/api/blog/blogs/goblog/posts"},
	"GET /api/blog/blogs/{blog}/posts/{slug}": {access: public, path: "/api/blog/blogs/goblog/posts/go1.22"},
	"POST /api/blog/blogs/{blog}/imports":     {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/blog/blogs/matrix/imports"},
	// Writing is for any account on a blog it writes on: the blog and
	// post here do not exist, so every account is told so (404) and only
	// anonymous callers are refused. Who is a blog's writer is the blog's
	// own test (services/blog).
	"POST /api/blog/blogs":                                     {access: signedIn, body: `{"name":"matrix-new","title":"x"}`},
	"GET /api/blog/blogs/{blog}":                               {access: public, path: "/api/blog/blogs/matrix-none"},
	"PUT /api/blog/blogs/{blog}":                               {access: signedIn, path: "/api/blog/blogs/matrix-none", body: `{"title":"x"}`},
	"DELETE /api/blog/blogs/{blog}":                            {access: signedIn, path: "/api/blog/blogs/matrix-none"},
	"PUT /api/blog/blogs/{blog}/coauthors/{user}":              {access: signedIn, path: "/api/blog/blogs/matrix-none/coauthors/u1", body: `{"name":"x"}`},
	"DELETE /api/blog/blogs/{blog}/coauthors/{user}":           {access: signedIn, path: "/api/blog/blogs/matrix-none/coauthors/u1"},
	"PUT /api/blog/blogs/{blog}/authors/{author}":              {access: signedIn, path: "/api/blog/blogs/matrix-none/authors/Ada", body: `{"user_id":"u1"}`},
	"GET /api/blog/blogs/{blog}/drafts":                        {access: signedIn, path: "/api/blog/blogs/matrix-none/drafts"},
	"POST /api/blog/blogs/{blog}/posts":                        {access: signedIn, path: "/api/blog/blogs/matrix-none/posts", body: `{"slug":"a","title":"x","markdown":"y"}`},
	"PUT /api/blog/blogs/{blog}/posts/{slug}":                  {access: signedIn, path: "/api/blog/blogs/matrix-none/posts/a", body: `{"title":"x","markdown":"y"}`},
	"DELETE /api/blog/blogs/{blog}/posts/{slug}":               {access: signedIn, path: "/api/blog/blogs/matrix-none/posts/a"},
	"GET /api/blog/blogs/{blog}/posts/{slug}/revisions":        {access: signedIn, path: "/api/blog/blogs/matrix-none/posts/a/revisions"},
	"GET /api/blog/blogs/{blog}/posts/{slug}/revisions/{rev}":  {access: signedIn, path: "/api/blog/blogs/matrix-none/posts/a/revisions/1"},
	"GET /api/blog/blogs/{blog}/posts/{slug}/diff":             {access: signedIn, path: "/api/blog/blogs/matrix-none/posts/a/diff?from=1&to=2"},
	"POST /api/blog/preview":                                   {access: signedIn, body: `{"title":"x","markdown":"*y*"}`},
	"POST /api/blog/images":                                    {access: signedIn, body: `{}`},
	"GET /api/blog/collections":                                {access: public},
	"POST /api/blog/collections":                               {access: signedIn, body: `{"id":"matrix-book","title":"x","chapters":[]}`},
	"GET /api/blog/collections/{id}":                           {access: public, path: "/api/blog/collections/matrix-none"},
	"PUT /api/blog/collections/{id}":                           {access: signedIn, path: "/api/blog/collections/matrix-none", body: `{"title":"x"}`},
	"PUT /api/blog/collections/{id}/chapters":                  {access: signedIn, path: "/api/blog/collections/matrix-none/chapters", body: `{"version":0,"chapters":[]}`},
	"POST /api/blog/collections/{id}/chapters":                 {access: signedIn, path: "/api/blog/collections/matrix-none/chapters", body: `{"blog":"goblog","slug":"go1.22"}`},
	"DELETE /api/blog/collections/{id}/chapters/{blog}/{slug}": {access: signedIn, path: "/api/blog/collections/matrix-none/chapters/goblog/go1.22"},
	"POST /api/blog/collections/{id}/publish":                  {access: signedIn, path: "/api/blog/collections/matrix-none/publish"},
	"GET /api/blog/collections/{id}/editions/{edition}":        {access: public, path: "/api/blog/collections/matrix-none/editions/1"},

	// conference: counts and ticket keys are public; organizers run
	// editions, gates check tickets in, owners see their own registrations
	// (anyone else's id is simply not found).
	"GET /api/conference/ticket-keys":                                     {access: public},
	"GET /api/conference/editions/{edition}":                              {access: public, path: "/api/conference/editions/matrix"},
	"POST /api/conference/editions":                                       {access: roleGated, roles: []string{auth.RoleOrganizer}, body: `{}`},
	"PATCH /api/conference/editions/{edition}":                            {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/conference/editions/matrix", body: `{}`},
	"POST /api/conference/editions/{edition}/sessions":                    {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/conference/editions/matrix/sessions", body: `{}`},
	"PATCH /api/conference/editions/{edition}/sessions/{session}":         {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/conference/editions/matrix/sessions/keynote", body: `{}`},
	"GET /api/conference/editions/{edition}/sessions/{session}/attendees": {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/conference/editions/matrix/sessions/keynote/attendees"},
	"POST /api/conference/editions/{edition}/invite-codes":                {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/conference/editions/matrix/invite-codes", body: `{}`},
	"GET /api/conference/editions/{edition}/revocations":                  {access: roleGated, roles: []string{auth.RoleGate, auth.RoleOrganizer}, path: "/api/conference/editions/matrix/revocations"},
	"POST /api/conference/editions/{edition}/registrations":               {access: signedIn, path: "/api/conference/editions/matrix/registrations", body: `{"sessions":[]}`},
	"POST /api/conference/checkins":                                       {access: roleGated, roles: []string{auth.RoleGate, auth.RoleOrganizer}, body: `{}`},
	"POST /api/conference/checkins/batch":                                 {access: roleGated, roles: []string{auth.RoleGate, auth.RoleOrganizer}, body: `{}`},
	"GET /api/conference/editions/{edition}/gate-bundle":                  {access: roleGated, roles: []string{auth.RoleGate, auth.RoleOrganizer}, path: "/api/conference/editions/matrix/gate-bundle"},
	"GET /api/conference/editions/{edition}/conflicts":                    {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/conference/editions/matrix/conflicts"},
	"GET /api/conference/editions/{edition}/devices":                      {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/conference/editions/matrix/devices"},
	"POST /api/conference/editions/{edition}/devices/{device}/revoke":     {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/conference/editions/matrix/devices/d1/revoke"},
	"PUT /api/conference/editions/{edition}/details":                      {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/conference/editions/matrix/details", body: `{}`},
	"POST /api/conference/editions/{edition}/tracks":                      {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/conference/editions/matrix/tracks", body: `{}`},
	"PUT /api/conference/editions/{edition}/ticket-types/{type}":          {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/conference/editions/matrix/ticket-types/student", body: `{}`},
	"GET /api/conference/editions/{edition}/invite-codes":                 {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/conference/editions/matrix/invite-codes"},
	"DELETE /api/conference/editions/{edition}/invite-codes/{id}":         {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/conference/editions/matrix/invite-codes/abc"},
	"GET /api/conference/editions/{edition}/attendees":                    {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/conference/editions/matrix/attendees"},
	"GET /api/conference/editions/{edition}/capacity-preview":             {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/conference/editions/matrix/capacity-preview?capacity=1"},
	"GET /api/conference/editions/{edition}/checkins":                     {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/conference/editions/matrix/checkins"},
	"GET /api/conference/registrations/{id}":                              {access: signedIn, path: "/api/conference/registrations/matrix.0193a5d0-0000-7000-8000-000000000000"},
	"DELETE /api/conference/registrations/{id}":                           {access: signedIn, path: "/api/conference/registrations/matrix.0193a5d0-0000-7000-8000-000000000000"},
	"POST /api/conference/registrations/{id}/accept":                      {access: signedIn, path: "/api/conference/registrations/matrix.0193a5d0-0000-7000-8000-000000000000/accept"},
	"GET /api/conference/registrations/{id}/timeline":                     {access: signedIn, path: "/api/conference/registrations/matrix.0193a5d0-0000-7000-8000-000000000000/timeline"},
	"GET /api/conference/registrations/{id}/ticket":                       {access: signedIn, path: "/api/conference/registrations/matrix.0193a5d0-0000-7000-8000-000000000000/ticket"},
	"GET /api/conference/registrations/{id}/ticket.png":                   {access: signedIn, path: "/api/conference/registrations/matrix.0193a5d0-0000-7000-8000-000000000000/ticket.png"},

	// conference calendars: a registration's file is its owner's (anyone
	// else's is not found); every member may have a subscription URL;
	// organizers move sessions.
	"GET /api/conference/registrations/{id}/calendar.ics":                   {access: signedIn, path: "/api/conference/registrations/matrix.0193a5d0-0000-7000-8000-000000000000/calendar.ics"},
	"POST /api/conference/calendar-feed":                                    {access: signedIn},
	"GET /api/conference/calendar-feed":                                     {access: signedIn},
	"DELETE /api/conference/calendar-feed":                                  {access: signedIn},
	"POST /api/conference/editions/{edition}/sessions/{session}/reschedule": {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/conference/editions/matrix/sessions/keynote/reschedule", body: `{}`},

	// contest: contests and the gallery are public; organizers run the
	// contest and see rankings; judges see and score only what is assigned
	// to them (organizer does not imply judge); team routes are for
	// members, and anyone else's team is simply not found (an attachment
	// also to organizers and the entry's unconflicted judges).
	"GET /api/contest/contests":                                             {access: public},
	"GET /api/contest/contests/{contest}":                                   {access: public, path: "/api/contest/contests/matrix"},
	"GET /api/contest/contests/{contest}/gallery":                           {access: public, path: "/api/contest/contests/matrix/gallery"},
	"POST /api/contest/contests":                                            {access: roleGated, roles: []string{auth.RoleOrganizer}, body: `{}`},
	"PUT /api/contest/contests/{contest}/schedule":                          {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/contest/contests/matrix/schedule", body: `{}`},
	"POST /api/contest/contests/{contest}/phase":                            {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/contest/contests/matrix/phase", body: `{}`},
	"POST /api/contest/contests/{contest}/rubrics":                          {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/contest/contests/matrix/rubrics", body: `{}`},
	"PUT /api/contest/contests/{contest}/judges/{judge}":                    {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/contest/contests/matrix/judges/someone", body: `{}`},
	"GET /api/contest/contests/{contest}/ranking":                           {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/contest/contests/matrix/ranking"},
	"POST /api/contest/contests/{contest}/shortlist":                        {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/contest/contests/matrix/shortlist", body: `{}`},
	"POST /api/contest/contests/{contest}/finalists":                        {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/contest/contests/matrix/finalists", body: `{}`},
	"POST /api/contest/contests/{contest}/results":                          {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/contest/contests/matrix/results", body: `{}`},
	"GET /api/contest/contests/{contest}/judging/queue":                     {access: roleGated, roles: []string{auth.RoleJudge}, path: "/api/contest/contests/matrix/judging/queue"},
	"POST /api/contest/contests/{contest}/judging/conflicts":                {access: roleGated, roles: []string{auth.RoleJudge}, path: "/api/contest/contests/matrix/judging/conflicts", body: `{}`},
	"PUT /api/contest/contests/{contest}/judging/entries/{team}/score":      {access: roleGated, roles: []string{auth.RoleJudge}, path: "/api/contest/contests/matrix/judging/entries/t1/score", body: `{}`},
	"GET /api/contest/contests/{contest}/judging/entries/{team}/scores":     {access: roleGated, roles: []string{auth.RoleJudge, auth.RoleOrganizer}, path: "/api/contest/contests/matrix/judging/entries/t1/scores"},
	"GET /api/contest/contests/{contest}/me":                                {access: signedIn, path: "/api/contest/contests/matrix/me"},
	"POST /api/contest/contests/{contest}/teams":                            {access: signedIn, path: "/api/contest/contests/matrix/teams", body: `{}`},
	"POST /api/contest/contests/{contest}/teams/join":                       {access: signedIn, path: "/api/contest/contests/matrix/teams/join", body: `{}`},
	"GET /api/contest/contests/{contest}/teams/{team}":                      {access: signedIn, path: "/api/contest/contests/matrix/teams/t1"},
	"POST /api/contest/contests/{contest}/teams/{team}/leave":               {access: signedIn, path: "/api/contest/contests/matrix/teams/t1/leave"},
	"POST /api/contest/contests/{contest}/teams/{team}/invite":              {access: signedIn, path: "/api/contest/contests/matrix/teams/t1/invite"},
	"PUT /api/contest/contests/{contest}/teams/{team}/submission":           {access: signedIn, path: "/api/contest/contests/matrix/teams/t1/submission", body: `{}`},
	"POST /api/contest/contests/{contest}/teams/{team}/attachments":         {access: signedIn, path: "/api/contest/contests/matrix/teams/t1/attachments?name=a.png"},
	"GET /api/contest/contests/{contest}/teams/{team}/timeline":             {access: signedIn, path: "/api/contest/contests/matrix/teams/t1/timeline"},
	"GET /api/contest/contests/{contest}/teams/{team}/attachments/{sha256}": {access: signedIn, path: "/api/contest/contests/matrix/teams/t1/attachments/" + strings.Repeat("0", 64)},
	// contest back office: organisers only.
	"GET /api/contest/contests/{contest}/phase/next":        {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/contest/contests/matrix/phase/next"},
	"POST /api/contest/contests/{contest}/assignments":      {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/contest/contests/matrix/assignments", body: `{}`},
	"POST /api/contest/contests/{contest}/assignments/auto": {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/contest/contests/matrix/assignments/auto", body: `{}`},
	"GET /api/contest/contests/{contest}/progress":          {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/contest/contests/matrix/progress"},
	"GET /api/contest/contests/{contest}/ranking/compare":   {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/contest/contests/matrix/ranking/compare"},

	// contest pages: the contests and the gallery are public; team and
	// judging pages are for signed-in visitors.
	"GET /contest/":                                            {access: public},
	"GET /contest/{contest}":                                   {access: public, path: "/contest/yunqi2013"},
	"GET /contest/{contest}/":                                  {access: public, path: "/contest/matrix/"},
	"GET /contest/{contest}/gallery":                           {access: public, path: "/contest/matrix/gallery"},
	"POST /contest/{contest}/teams":                            {access: pageSession, path: "/contest/matrix/teams"},
	"POST /contest/{contest}/join":                             {access: pageSession, path: "/contest/matrix/join"},
	"GET /contest/{contest}/team":                              {access: pageSession, path: "/contest/matrix/team"},
	"POST /contest/{contest}/team":                             {access: pageSession, path: "/contest/matrix/team"},
	"GET /contest/{contest}/judging":                           {access: pageSession, path: "/contest/matrix/judging"},
	"GET /contest/{contest}/judging/{team}":                    {access: pageSession, path: "/contest/matrix/judging/t1"},
	"GET /contest/{contest}/teams/{team}/attachments/{sha256}": {access: pageSession, path: "/contest/matrix/teams/t1/attachments/00"},
	"POST /contest/{contest}/judging/{team}":                   {access: pageSession, path: "/contest/matrix/judging/t1"},
	// contest back office pages: organisers (others get a 403 page).
	"GET /contest/new":                                {access: pageSession},
	"POST /contest/new":                               {access: pageSession},
	"GET /contest/{contest}/staff":                    {access: pageSession, path: "/contest/matrix/staff"},
	"POST /contest/{contest}/staff/phase":             {access: pageSession, path: "/contest/matrix/staff/phase"},
	"POST /contest/{contest}/staff/judges":            {access: pageSession, path: "/contest/matrix/staff/judges"},
	"POST /contest/{contest}/staff/assign":            {access: pageSession, path: "/contest/matrix/staff/assign"},
	"POST /contest/{contest}/staff/assign/auto":       {access: pageSession, path: "/contest/matrix/staff/assign/auto"},
	"GET /contest/{contest}/staff/ranking":            {access: pageSession, path: "/contest/matrix/staff/ranking"},
	"POST /contest/{contest}/staff/finalists":         {access: pageSession, path: "/contest/matrix/staff/finalists"},
	"POST /contest/{contest}/staff/results":           {access: pageSession, path: "/contest/matrix/staff/results"},
	"POST /contest/{contest}/judging/{team}/conflict": {access: pageSession, path: "/contest/matrix/judging/t1/conflict"},

	// audit views of an edition and a contest: organisers only.
	"GET /contest/{contest}/audit":                   {access: pageSession, path: "/contest/matrix/audit"},
	"GET /conference/{edition}/audit":                {access: pageSession, path: "/conference/yunqi2015/audit"},
	"GET /conference/new":                            {access: pageSession},
	"POST /conference/new":                           {access: pageSession},
	"GET /conference/{edition}/manage":               {access: pageSession, path: "/conference/matrix/manage"},
	"POST /conference/{edition}/manage":              {access: pageSession, path: "/conference/matrix/manage"},
	"GET /conference/{edition}/manage/edit":          {access: pageSession, path: "/conference/matrix/manage/edit"},
	"POST /conference/{edition}/manage/edit":         {access: pageSession, path: "/conference/matrix/manage/edit"},
	"GET /conference/{edition}/manage/attendees":     {access: pageSession, path: "/conference/matrix/manage/attendees"},
	"GET /conference/{edition}/manage/attendees.csv": {access: pageSession, path: "/conference/matrix/manage/attendees.csv"},
	"GET /conference/{edition}/manage/capacity":      {access: pageSession, path: "/conference/matrix/manage/capacity"},
	"POST /conference/{edition}/manage/capacity":     {access: pageSession, path: "/conference/matrix/manage/capacity"},

	// pages: the shell and identity's
	"GET /":                     {access: public},
	"GET /identity/":            {access: public},
	"GET /identity/signup":      {access: public},
	"POST /identity/signup":     {access: public},
	"GET /identity/login":       {access: public},
	"POST /identity/login":      {access: public},
	"POST /identity/logout":     {access: public},
	"GET /identity/people/{id}": {access: public},
	// Renewing sends the browser back; its session is whatever its cookies hold.
	"GET /identity/session/renew": {access: public},
	"GET /identity/me":            {access: pageSession},
	"POST /identity/me":           {access: pageSession},

	"POST /identity/me/language":     {access: pageSession},
	"POST /identity/me/email":        {access: pageSession},
	"GET /identity/me/export":        {access: pageSession},
	"POST /identity/me/erase":        {access: pageSession},
	"POST /identity/me/verification": {access: pageSession},
	// The link of the verification mail: no log-in, the code is the proof.
	"GET /identity/verify-email": {access: public, path: "/identity/verify-email?u=0193a5d0-0000-7000-8000-000000000000&c=forged"},
	// notify: a person's own inbox, preferences and overview; the mail
	// report is for organisers. The bell's count answers strangers with 0,
	// and the unsubscribe link works without a log-in: its token is the proof.
	"GET /api/notify/inbox":            {access: signedIn},
	"POST /api/notify/inbox/read":      {access: signedIn},
	"POST /api/notify/inbox/{id}/read": {access: signedIn, path: "/api/notify/inbox/0193a5d0-0000-7000-8000-000000000000/read"},
	"GET /api/notify/preferences":      {access: signedIn},
	"PUT /api/notify/preferences":      {access: signedIn, body: `{"email":{"seat_offered":true}}`},
	"GET /api/notify/overview":         {access: signedIn},
	"GET /api/notify/export":           {access: signedIn},
	"GET /api/notify/mail":             {access: roleGated, roles: []string{auth.RoleOrganizer}},
	"GET /notify/":                     {access: pageSession},
	"POST /notify/":                    {access: pageSession},
	"GET /notify/me":                   {access: pageSession},
	"GET /notify/preferences":          {access: pageSession},
	"POST /notify/preferences":         {access: pageSession},
	"GET /notify/staff/mail":           {access: pageSession},
	"GET /notify/unread":               {access: public},
	"GET /notify/unsubscribe":          {access: public, path: "/notify/unsubscribe?t=forged"},
	"POST /notify/unsubscribe":         {access: public, path: "/notify/unsubscribe?t=forged"},

	// identity staff roles: organisers grant and revoke, and read the history.
	"GET /api/identity/users":                      {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/identity/users?q=ada"},
	"PUT /api/identity/users/{id}/roles/{role}":    {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/identity/users/0193a5d0-0000-7000-8000-000000000000/roles/reviewer"},
	"DELETE /api/identity/users/{id}/roles/{role}": {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/identity/users/0193a5d0-0000-7000-8000-000000000000/roles/reviewer"},
	"GET /identity/staff":                          {access: pageSession},
	"POST /identity/staff":                         {access: pageSession},
	"GET /identity/staff/audit":                    {access: pageSession},

	"GET /blog/": {access: public},

	// search: public documents only, for anyone.
	"GET /api/search":        {access: public, path: "/api/search?q=go&facets=blog"},
	"GET /search/":           {access: public, path: "/search/?q=go"},
	"GET /search/search.js":  {access: public},
	"GET /search/search.css": {access: public},

	"GET /blog/{blog}":                                  {access: public, path: "/blog/goblog"},
	"GET /blog/{blog}/":                                 {access: public, path: "/blog/goblog/"},
	"GET /blog/{blog}/{slug}":                           {access: public, path: "/blog/goblog/go1.22"},
	"GET /blog/feed.atom":                               {access: public},
	"GET /blog/feed.rss":                                {access: public},
	"GET /blog/{blog}/feed.atom":                        {access: public, path: "/blog/goblog/feed.atom"},
	"GET /blog/{blog}/feed.rss":                         {access: public, path: "/blog/goblog/feed.rss"},
	"GET /blog/authors/{name}":                          {access: public, path: "/blog/authors/Ada"},
	"GET /blog/authors/{name}/feed.atom":                {access: public, path: "/blog/authors/Ada/feed.atom"},
	"GET /blog/authors/{name}/feed.rss":                 {access: public, path: "/blog/authors/Ada/feed.rss"},
	"GET /blog/tags/{tag}":                              {access: public, path: "/blog/tags/go"},
	"GET /blog/tags/{tag}/feed.atom":                    {access: public, path: "/blog/tags/go/feed.atom"},
	"GET /blog/tags/{tag}/feed.rss":                     {access: public, path: "/blog/tags/go/feed.rss"},
	"GET /blog/collections/{id}/feed.atom":              {access: public, path: "/blog/collections/matrix/feed.atom"},
	"GET /blog/collections/{id}/feed.rss":               {access: public, path: "/blog/collections/matrix/feed.rss"},
	"GET /blog/images/{name}":                           {access: public, path: "/blog/images/00.png"},
	"GET /blog/collections/":                            {access: public},
	"POST /blog/collections/":                           {access: pageSession},
	"GET /blog/collections/book.css":                    {access: public},
	"GET /blog/collections/{id}":                        {access: public, path: "/blog/collections/matrix"},
	"GET /blog/collections/{id}/":                       {access: public, path: "/blog/collections/matrix/"},
	"GET /blog/collections/{id}/search":                 {access: public, path: "/blog/collections/matrix/search?q=go"},
	"GET /blog/collections/{id}/book.epub":              {access: public, path: "/blog/collections/matrix/book.epub"},
	"GET /blog/collections/{id}/print":                  {access: public, path: "/blog/collections/matrix/print"},
	"GET /blog/collections/{id}/curate":                 {access: pageSession, path: "/blog/collections/matrix/curate"},
	"POST /blog/collections/{id}/details":               {access: pageSession, path: "/blog/collections/matrix/details"},
	"POST /blog/collections/{id}/chapters":              {access: pageSession, path: "/blog/collections/matrix/chapters"},
	"POST /blog/collections/{id}/publish":               {access: pageSession, path: "/blog/collections/matrix/publish"},
	"GET /blog/collections/{id}/editions/{n}":           {access: public, path: "/blog/collections/matrix/editions/1"},
	"GET /blog/collections/{id}/editions/{n}/":          {access: public, path: "/blog/collections/matrix/editions/1/"},
	"GET /blog/collections/{id}/editions/{n}/book.epub": {access: public, path: "/blog/collections/matrix/editions/1/book.epub"},
	"GET /blog/collections/{id}/editions/{n}/print":     {access: public, path: "/blog/collections/matrix/editions/1/print"},
	"GET /blog/collections/{id}/editions/{n}/{k}":       {access: public, path: "/blog/collections/matrix/editions/1/1"},
	"GET /sitemap.xml":                                  {access: public},
	"GET /robots.txt":                                   {access: public},
	// The writers' pages are for signed-in visitors.
	"GET /blog/write/":                              {access: pageSession},
	"POST /blog/write/":                             {access: pageSession},
	"GET /blog/write/{blog}":                        {access: public, path: "/blog/write/matrix"},
	"GET /blog/write/{blog}/":                       {access: pageSession, path: "/blog/write/matrix/"},
	"POST /blog/write/{blog}/":                      {access: pageSession, path: "/blog/write/matrix/"},
	"GET /blog/write/{blog}/new":                    {access: pageSession, path: "/blog/write/matrix/new"},
	"POST /blog/write/{blog}/new":                   {access: pageSession, path: "/blog/write/matrix/new"},
	"POST /blog/write/{blog}/images":                {access: pageSession, path: "/blog/write/matrix/images"},
	"GET /blog/write/{blog}/posts/{slug}":           {access: pageSession, path: "/blog/write/matrix/posts/a"},
	"POST /blog/write/{blog}/posts/{slug}":          {access: pageSession, path: "/blog/write/matrix/posts/a"},
	"GET /blog/write/{blog}/posts/{slug}/revisions": {access: pageSession, path: "/blog/write/matrix/posts/a/revisions"},
	"GET /blog/write/{blog}/posts/{slug}/diff":      {access: pageSession, path: "/blog/write/matrix/posts/a/diff"},

	// conference pages: the programme is public; registering, one's own
	// registrations and the organisers' lists need a page session.
	"GET /conference/":                                         {access: public},
	"GET /conference/{edition}":                                {access: public, path: "/conference/matrix"},
	"GET /conference/{edition}/":                               {access: public, path: "/conference/matrix/"},
	"POST /conference/{edition}/":                              {access: pageSession, path: "/conference/matrix/"},
	"GET /conference/{edition}/attendees":                      {access: pageSession, path: "/conference/matrix/attendees"},
	"GET /conference/{edition}/attendees/{session}":            {access: pageSession, path: "/conference/matrix/attendees/keynote"},
	"GET /conference/{edition}/attendees/{session}/export.csv": {access: pageSession, path: "/conference/matrix/attendees/keynote/export.csv"},
	"GET /conference/registrations":                            {access: pageSession},
	"GET /conference/registrations/{id}":                       {access: pageSession, path: "/conference/registrations/matrix.0193a5d0-0000-7000-8000-000000000000"},
	"POST /conference/registrations/{id}":                      {access: pageSession, path: "/conference/registrations/matrix.0193a5d0-0000-7000-8000-000000000000"},
	"GET /conference/registrations/{id}/ticket.png":            {access: pageSession, path: "/conference/registrations/matrix.0193a5d0-0000-7000-8000-000000000000/ticket.png"},

	// conference calendar pages; a subscription URL's token is its whole
	// authorisation, so the feed itself is public
	"GET /conference/registrations/{id}/calendar.ics": {access: pageSession, path: "/conference/registrations/matrix.0193a5d0-0000-7000-8000-000000000000/calendar.ics"},
	"GET /conference/calendar":                        {access: pageSession},
	"POST /conference/calendar":                       {access: pageSession},
	"GET /conference/calendar/{token}.ics":            {access: public, path: "/conference/calendar/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics"},

	// the gate app (gate staff or organizers) and the organisers' gate screen;
	// the app's worker and manifest hold nothing private
	"GET /conference/gate":                                         {access: public},
	"GET /conference/gate/":                                        {access: pageSession},
	"GET /conference/gate/sw.js":                                   {access: public},
	"GET /conference/gate/manifest.webmanifest":                    {access: public},
	"GET /conference/gate/{edition}/bundle":                        {access: pageSession, path: "/conference/gate/matrix/bundle"},
	"POST /conference/gate/checkins":                               {access: pageSession, body: `{}`},
	"GET /conference/{edition}/gate-desk":                          {access: pageSession, path: "/conference/matrix/gate-desk"},
	"GET /conference/{edition}/gate-desk/counts":                   {access: pageSession, path: "/conference/matrix/gate-desk/counts"},
	"POST /conference/{edition}/gate-desk/devices/{device}/revoke": {access: pageSession, path: "/conference/matrix/gate-desk/devices/d1/revoke"},
	// alliance: profiles, the wall and the policy are public; applying
	// needs an account, and an application is its applicant's and staff's
	// only (anyone else's id is simply not found); reviewers and organizers
	// vote, organizers decide, set the policy and lapse memberships.
	"GET /api/alliance/policy":                      {access: public},
	"PUT /api/alliance/policy":                      {access: roleGated, roles: []string{auth.RoleOrganizer}, body: `{"approvals_required":2,"rejections_required":2}`},
	"POST /api/alliance/logos":                      {access: signedIn},
	"GET /api/alliance/logos/{name}":                {access: public, path: "/api/alliance/logos/0000000000000000000000000000000000000000000000000000000000000000.png"},
	"GET /api/alliance/applications":                {access: roleGated, roles: []string{auth.RoleReviewer, auth.RoleOrganizer}},
	"POST /api/alliance/applications":               {access: signedIn, body: `{}`},
	"GET /api/alliance/me/applications":             {access: signedIn},
	"GET /api/alliance/applications/{id}":           {access: signedIn, path: "/api/alliance/applications/0193a5d0-0000-7000-8000-000000000000"},
	"PATCH /api/alliance/applications/{id}":         {access: signedIn, path: "/api/alliance/applications/0193a5d0-0000-7000-8000-000000000000", body: `{"name_zh":"矩阵"}`},
	"POST /api/alliance/applications/{id}/submit":   {access: signedIn, path: "/api/alliance/applications/0193a5d0-0000-7000-8000-000000000000/submit"},
	"POST /api/alliance/applications/{id}/withdraw": {access: signedIn, path: "/api/alliance/applications/0193a5d0-0000-7000-8000-000000000000/withdraw"},
	"GET /api/alliance/applications/{id}/timeline":  {access: signedIn, path: "/api/alliance/applications/0193a5d0-0000-7000-8000-000000000000/timeline"},
	"POST /api/alliance/applications/{id}/votes":    {access: roleGated, roles: []string{auth.RoleReviewer, auth.RoleOrganizer}, path: "/api/alliance/applications/0193a5d0-0000-7000-8000-000000000000/votes", body: `{"vote":"approve"}`},
	"POST /api/alliance/applications/{id}/decision": {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/alliance/applications/0193a5d0-0000-7000-8000-000000000000/decision", body: `{"decision":"approve"}`},
	"GET /api/alliance/members":                     {access: public},
	"GET /api/alliance/members/{id}":                {access: public, path: "/api/alliance/members/matrix"},
	"PATCH /api/alliance/members/{id}":              {access: signedIn, path: "/api/alliance/members/matrix", body: `{"name_zh":"矩阵"}`},
	"GET /api/alliance/members/{id}/history":        {access: public, path: "/api/alliance/members/matrix/history"},
	"POST /api/alliance/members/{id}/withdraw":      {access: signedIn, path: "/api/alliance/members/matrix/withdraw"},
	"POST /api/alliance/members/{id}/lapse":         {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/alliance/members/matrix/lapse"},
	"GET /api/alliance/wall":                        {access: public, path: "/api/alliance/wall?at=2013-10-24"},
	"GET /alliance/":                                {access: public},
	"GET /alliance/members":                         {access: public},
	"GET /alliance/members/{id}":                    {access: public, path: "/alliance/members/matrix"},
	"GET /alliance/apply":                           {access: pageSession},
	"POST /alliance/apply":                          {access: pageSession},
	"GET /alliance/me":                              {access: pageSession},
	"GET /alliance/applications/{id}":               {access: pageSession, path: "/alliance/applications/0193a5d0-0000-7000-8000-000000000000"},
	"POST /alliance/applications/{id}":              {access: pageSession, path: "/alliance/applications/0193a5d0-0000-7000-8000-000000000000"},
	"GET /alliance/review":                          {access: pageSession},
	"GET /alliance/review/{id}":                     {access: pageSession, path: "/alliance/review/0193a5d0-0000-7000-8000-000000000000"},
	"POST /alliance/review/{id}":                    {access: pageSession, path: "/alliance/review/0193a5d0-0000-7000-8000-000000000000"},
	// alliance staff: member administration, the review policy, the audit.
	"POST /api/alliance/members/{id}/reinstate": {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/alliance/members/matrix/reinstate"},
	"PUT /api/alliance/members/{id}/tier":       {access: roleGated, roles: []string{auth.RoleOrganizer}, path: "/api/alliance/members/matrix/tier", body: `{"tier":"member"}`},
	"GET /alliance/admin":                       {access: pageSession},
	"POST /alliance/admin/members/{id}":         {access: pageSession, path: "/alliance/admin/members/matrix"},
	"GET /alliance/admin/policy":                {access: pageSession},
	"POST /alliance/admin/policy":               {access: pageSession},
	"GET /alliance/audit":                       {access: pageSession},
}

// everyMethod is what chi registers for Handle and Mount.
var everyMethod = []string{"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}

// registeredRoutes walks the router and folds a pattern served for every
// method into one "* pattern" entry.
func registeredRoutes(t *testing.T, r chi.Routes) []string {
	t.Helper()
	methods := map[string][]string{}
	err := chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		methods[route] = append(methods[route], method)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for route, ms := range methods {
		if !slices.ContainsFunc(everyMethod, func(m string) bool { return !slices.Contains(ms, m) }) {
			out = append(out, "* "+route)
			continue
		}
		for _, m := range ms {
			out = append(out, m+" "+route)
		}
	}
	slices.Sort(out)
	return out
}

// caller is someone calling the API in the matrix.
type caller struct {
	name  string
	role  string // the role granted besides member; "" for none
	token string // "" for anonymous
}

func TestAuthorizationMatrix(t *testing.T) {
	a := newTestApp(t, "")
	doc := loadDoc(t, a)

	// Accounts are made the way people get them: sign up, log in, a role
	// granted in the log, log in again for a token carrying it.
	callers := []caller{{name: "anonymous"}, {name: "member"}}
	for _, role := range []string{auth.RoleReviewer, auth.RoleJudge, auth.RoleGate, auth.RoleOrganizer} {
		callers = append(callers, caller{name: role, role: role})
	}
	pathParams := map[string]string{}
	for i := range callers {
		c := &callers[i]
		if c.name == "anonymous" {
			continue
		}
		email := c.name + "@matrix.example.com"
		id := a.signUp(email, c.name)
		if c.name == "member" {
			pathParams["id"] = id
		}
		if c.role != "" {
			if _, err := identity.GrantRole(t.Context(), a.store, a.claims(t), email, c.role, "test"); err != nil {
				t.Fatal(err)
			}
		}
		c.token, _ = a.logIn(email)
		want := []string{auth.RoleMember}
		if c.role != "" {
			want = append(want, c.role)
		}
		if got := tokenRoles(t, c.token); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
			t.Fatalf("%s's token has roles %v, want %v", c.name, got, want)
		}
	}

	routes := registeredRoutes(t, a.app.server.Router())
	for _, key := range routes {
		if _, ok := authzTable[key]; !ok {
			t.Errorf("route %s is not in authzTable: add it with who may call it", key)
		}
	}
	for key := range authzTable {
		if !slices.Contains(routes, key) {
			t.Errorf("authzTable lists %s, which is not registered", key)
		}
	}

	param := regexp.MustCompile(`\{([^}:]+)(:[^}]*)?\}`)
	for _, key := range routes {
		rule, ok := authzTable[key]
		if !ok {
			continue
		}
		method, pattern, _ := strings.Cut(key, " ")
		if method == "*" {
			method = "GET"
		}
		path := rule.path
		if path == "" {
			if strings.Contains(pattern, "*") {
				t.Errorf("%s: a wildcard route needs a path in authzTable", key)
				continue
			}
			path = param.ReplaceAllStringFunc(pattern, func(m string) string {
				name := param.FindStringSubmatch(m)[1]
				v, ok := pathParams[name]
				if !ok {
					t.Errorf("%s: no value for {%s}; give the rule a path or add it to pathParams", key, name)
				}
				return v
			})
		}
		body := ""
		if method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE" {
			body = rule.body
		}
		for i := range callers {
			c := &callers[i]
			w := a.do(method, path, c.token, body)
			if rule.revokes && c.token != "" {
				if a.do("GET", "/api/identity/me", c.token, "").Code != http.StatusUnauthorized {
					t.Errorf("%s as %s: the token still works", key, c.name)
				}
				c.token, _ = a.logIn(c.name + "@matrix.example.com")
			}
			got := w.Code
			if got >= 500 || got == http.StatusMethodNotAllowed {
				t.Errorf("%s as %s: %d %s", key, c.name, got, w.Body)
				continue
			}
			if documented(pattern) {
				if err := doc.check(method, pattern, w); err != nil {
					t.Errorf("as %s: %v", c.name, err)
				}
			}
			denied := got == http.StatusUnauthorized || got == http.StatusForbidden
			switch rule.access {
			case public:
				if denied {
					t.Errorf("%s is public, but %s got %d", key, c.name, got)
				}
			case signedIn:
				if c.token == "" && got != http.StatusUnauthorized {
					t.Errorf("%s needs an account, but anonymous got %d", key, got)
				}
				if c.token != "" && denied {
					t.Errorf("%s is for every account, but %s got %d", key, c.name, got)
				}
			case roleGated:
				switch {
				case c.token == "":
					if got != http.StatusUnauthorized {
						t.Errorf("%s needs a role, but anonymous got %d", key, got)
					}
				case slices.Contains(rule.roles, c.role):
					if denied {
						t.Errorf("%s allows %v, but %s got %d", key, rule.roles, c.name, got)
					}
				default:
					if got != http.StatusForbidden {
						t.Errorf("%s allows only %v, but %s got %d", key, rule.roles, c.name, got)
					}
				}
			case pageSession:
				if got != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/identity/login") {
					t.Errorf("%s is for signed-in visitors, but %s without a session got %d (Location %q)", key, c.name, got, w.Header().Get("Location"))
				}
			case refreshSession:
				if got != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "invalid-refresh-token") {
					t.Errorf("%s takes a refresh token only, but %s with an access token got %d %s", key, c.name, got, w.Body)
				}
			}
		}
	}
}

// TestBadTokensAreRefused sends tokens that must not pass to a route for
// signed-in users: each gets 401 with the RFC 6750 invalid_token challenge.
func TestBadTokensAreRefused(t *testing.T) {
	data := t.TempDir()
	a := newTestApp(t, data)
	const route = "/api/identity/me"
	a.signUp("ada@example.com", "Ada")
	good, _ := a.logIn("ada@example.com")
	if w := a.do("GET", route, good, ""); w.Code != http.StatusOK {
		t.Fatalf("a good token got %d", w.Code)
	}
	parts := strings.Split(good, ".")
	header, payload := decodeSegment(t, parts[0]), decodeSegment(t, parts[1])

	// A member who makes themselves organizer keeps the signature of the
	// token they had, which no longer fits.
	payload["roles"] = []string{auth.RoleMember, auth.RoleOrganizer}
	promoted := parts[0] + "." + encodeSegment(t, payload) + "." + parts[2]
	payload["roles"] = []string{auth.RoleMember}

	unsigned := encodeSegment(t, map[string]any{"alg": "none", "typ": header["typ"], "kid": header["kid"]}) + "." + parts[1] + "."

	// Signed by a key of our own under the server's kid.
	_, foreignKey, _ := ed25519.GenerateKey(rand.Reader)
	var cl auth.Claims
	json.Unmarshal(decodeRaw(t, parts[1]), &cl)
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, cl)
	tok.Header["kid"], tok.Header["typ"] = header["kid"], header["typ"]
	foreign, err := tok.SignedString(foreignKey)
	if err != nil {
		t.Fatal(err)
	}

	// Another deployment on the same keys, for another audience: its
	// tokens are validly signed but not meant for this one.
	other := newTestApp(t, data, "--audience", "elsewhere", "--search-index", t.TempDir())
	elsewhere, _ := other.logIn("ada@example.com")
	if w := other.do("GET", route, elsewhere, ""); w.Code != http.StatusOK {
		t.Fatalf("the other deployment refuses its own token: %d", w.Code)
	}

	// Signed with the server's own key by a tool, for longer than
	// --access-ttl: identity never issues such a token.
	long, err := identity.MintAccessToken(data, cl.Subject, "Ada", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Logged out: the token is revoked.
	loggedOut, _ := a.logIn("ada@example.com")
	if w := a.do("DELETE", "/api/identity/tokens", loggedOut, ""); w.Code != http.StatusNoContent {
		t.Fatalf("log-out: %d", w.Code)
	}

	for name, token := range map[string]string{
		"an hour long":    long,
		"logged out":      loggedOut,
		"tampered roles":  promoted,
		"alg none":        unsigned,
		"foreign key":     foreign,
		"wrong audience":  elsewhere,
		"not a JWT":       "not-a-token",
		"truncated":       parts[0] + "." + parts[1],
		"signature moved": parts[0] + "." + parts[1] + "." + parts[2][1:] + parts[2][:1],
	} {
		assertInvalidToken(t, a.do("GET", route, token, ""), name)
	}
	w := a.do("GET", route, "", "", "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("ada:pw")))
	if w.Code != http.StatusUnauthorized {
		t.Errorf("Basic credentials got %d, want 401", w.Code)
	}

	// Last, because it moves the app's clock past every token it issued.
	a.clock.Advance(identity.Config{}.Defaults().AccessTTL + time.Minute)
	w = a.do("GET", route, good, "")
	assertInvalidToken(t, w, "expired")
	if !strings.Contains(w.Body.String(), "expired") {
		t.Errorf("an expired token is not told so: %s", w.Body)
	}
}

func assertInvalidToken(t *testing.T, w *httptest.ResponseRecorder, name string) {
	t.Helper()
	r := w.Result()
	if r.StatusCode != http.StatusUnauthorized {
		t.Errorf("%s token: %d, want 401", name, r.StatusCode)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s token: Content-Type %q", name, ct)
	}
	if ch := r.Header.Get("WWW-Authenticate"); !strings.Contains(ch, `error="invalid_token"`) {
		t.Errorf("%s token: WWW-Authenticate %q lacks invalid_token", name, ch)
	}
}

func decodeRaw(t *testing.T, seg string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(decodeRaw(t, seg), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func encodeSegment(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
