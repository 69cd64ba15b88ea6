package contest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// DemoContestID is the contest SeedDemo writes.
const DemoContestID = "yunqi2013"

// SeedDemo writes a finished 2013 contest, decided through the same
// commands as live contests: teams, entries, judging, finals on the
// evening of 2013-10-24 and published results with a gallery. Every text
// in it is written for the demo. Event ids are derived from fixed keys,
// so seeding twice writes nothing the second time.
func SeedDemo(ctx context.Context, store events.Store) error {
	return SeedDemoWithJudge(ctx, store, DemoJudge{})
}

// DemoJudge is an account that judges the demo contest in progress, so a
// newcomer logged in as it finds entries waiting for scores.
type DemoJudge struct{ ID, Name string }

// SeedDemoWithJudge is SeedDemo with judge as the first judge of the
// contest in progress, who has scored some entries and not others.
func SeedDemoWithJudge(ctx context.Context, store events.Store, judge DemoJudge) error {
	evs, err := demoEvents()
	if err != nil {
		return fmt.Errorf("contest demo: %w", err)
	}
	if err := seedStream(ctx, store, DemoContestID, evs); err != nil {
		return err
	}
	live, err := liveDemoEvents(time.Now(), judge)
	if err != nil {
		return fmt.Errorf("contest demo: %w", err)
	}
	return seedStream(ctx, store, DemoLiveContestID, live)
}

func seedStream(ctx context.Context, store events.Store, id string, evs []events.Proposed) error {
	_, err := store.Append(ctx, events.ContestStream(id), events.NoStream, evs...)
	var wrong *events.WrongExpectedRevisionError
	if errors.As(err, &wrong) {
		// A contest of that id is there already (an older demo, or a
		// real one): leave it alone.
		return nil
	}
	if err != nil {
		return fmt.Errorf("contest demo: %w", err)
	}
	return nil
}

// demoRecorder decides demo events against an in-memory contest, each
// with the time and actor of the step it belongs to and an id derived
// from the contest and its place in the stream.
type demoRecorder struct {
	c           *Contest
	out         []events.Proposed
	at          time.Time
	actor, corr string
}

func (d *demoRecorder) emit(p any) {
	meta := events.Metadata{Actor: d.actor, OccurredAt: d.at.UTC(), Visibility: visibility(p), Subject: subject(p), CorrelationID: d.corr}
	ev, err := events.Types.New(p, meta)
	if err != nil {
		panic(err) // only unregistered types fail, which a test catches
	}
	ev.ID = events.IDFromKey("demo\x00contest\x00"+d.c.ID+"\x00"+d.corr, len(d.out))
	d.out = append(d.out, ev)
	d.c.Apply(p, d.at.UTC())
}

// DemoLiveContestID is the demo contest in progress: in review, judges
// assigned, some scores in, so that a newcomer can try every organiser
// journey (progress, assignment, the rankings compared, the finals and
// publishing) and a judge's one.
const DemoLiveContestID = "yunqi-live"

type liveEntry struct {
	team, name, title, track string
	members                  [][2]string
	draft                    bool
}

var liveEntries = []liveEntry{
	{team: "live-tea-trace", name: "茶香溯源", title: "一杯龙井的来路：茶叶溯源小程序", track: "iot", members: [][2]string{{"沈采茶", "示例茶科技"}, {"Mia Chen", ""}}},
	{team: "live-lake-bike", name: "环湖骑行", title: "西湖单车调度：潮汐预测", track: "data", members: [][2]string{{"陆骑行", "示例出行"}}},
	{team: "live-quiet-lib", name: "静音图书馆", title: "自习座位实时地图", track: "iot", members: [][2]string{{"顾安静", "示例大学"}, {"许翻书", "示例大学"}}},
	{team: "live-old-town", name: "老街记忆", title: "老街口述史的语音检索", track: "ai", members: [][2]string{{"方记忆", ""}}},
	{team: "live-rain-alert", name: "梅雨预警", title: "社区积水的众包预警", track: "data", members: [][2]string{{"邵下雨", "示例网络"}, {"Ben Li", ""}}},
	{team: "live-shop-voice", name: "小店之声", title: "给小店的语音记账", track: "ai", members: [][2]string{{"钱小店", ""}}},
	{team: "live-kite", name: "风筝队", title: "风筝节人流热力图", track: "data", members: [][2]string{{"高放飞", ""}}, draft: true},
}

// liveDemoEvents writes a contest that is running at now: registration
// and submission are over, review is open with judges assigned by the
// balanced assignment, about half of the scores are in, and one judge has
// declared a conflict while another is kept from an entry by their
// organisation. Its dates are relative to now, so it is in progress
// whenever the demo is seeded.
func liveDemoEvents(now time.Time, staff DemoJudge) ([]events.Proposed, error) {
	now = now.UTC().Truncate(time.Hour)
	day := 24 * time.Hour
	d := &demoRecorder{c: newContest(), corr: "demo-contest-live", actor: "demo-organizer"}
	c := d.c
	at := func(t time.Time, who string) { d.at, d.actor = t, who }
	at(now.Add(-45*day), "demo-organizer")
	err := c.create(CreateContest{ID: DemoLiveContestID, NameZH: "云栖城市创新赛（演示 · 进行中）", NameEN: "Yunqi City Innovation Contest (demo, in progress)",
		Year: now.Year(), TeamSizeLimit: 4,
		Tracks: []events.ContestTrack{{ID: "iot", NameZH: "物联网", NameEN: "Internet of things"},
			{ID: "data", NameZH: "城市数据", NameEN: "City data"}, {ID: "ai", NameZH: "人工智能", NameEN: "Artificial intelligence"}},
		Awards: []events.ContestAward{{ID: "first", NameZH: "一等奖", NameEN: "First prize"}, {ID: "second", NameZH: "二等奖", NameEN: "Second prize"},
			{ID: "people", NameZH: "最受欢迎奖", NameEN: "People's choice"}},
		Schedule: []events.ContestPhaseWindow{
			{Phase: events.PhaseRegistration, StartsAt: now.Add(-40 * day), EndsAt: now.Add(-20 * day)},
			{Phase: events.PhaseSubmission, StartsAt: now.Add(-20 * day), EndsAt: now.Add(-2 * day)},
			{Phase: events.PhaseReview, StartsAt: now.Add(-2 * day), EndsAt: now.Add(12 * day)},
			{Phase: events.PhaseFinals, StartsAt: now.Add(20 * day), EndsAt: now.Add(20*day + 9*time.Hour)},
		},
		Rubric: &events.RubricPublished{ScaleMin: 1, ScaleMax: 10, Criteria: []events.RubricCriterion{
			{ID: "impact", NameZH: "对城市的价值", NameEN: "Value to the city", Weight: 3},
			{ID: "tech", NameZH: "技术实现", NameEN: "Technical depth", Weight: 2},
			{ID: "demo", NameZH: "演示", NameEN: "Demo", Weight: 1},
		}}}, d.emit)
	if err != nil {
		return nil, err
	}
	for i, e := range liveEntries {
		owner := "demo-" + e.team + "-1"
		at(now.Add(-38*day+time.Duration(i)*day), owner)
		if _, err := c.createTeam(CreateTeam{TeamID: e.team, Name: e.name, Member: owner, DisplayName: e.members[0][0], Organization: e.members[0][1],
			PublicName: true, Code: "DEMO-" + e.team}, d.at, d.emit); err != nil {
			return nil, err
		}
		for k, m := range e.members[1:] {
			who := fmt.Sprintf("demo-%s-%d", e.team, k+2)
			at(now.Add(-36*day+time.Duration(i)*day), who)
			if _, err := c.joinTeam(JoinTeam{Code: "DEMO-" + e.team, Member: who, DisplayName: m[0], Organization: m[1], PublicName: true}, d.at, d.emit); err != nil {
				return nil, err
			}
		}
	}
	at(now.Add(-20*day), "demo-organizer")
	if err := c.changePhase(events.PhaseSubmission, d.emit); err != nil {
		return nil, err
	}
	for i, e := range liveEntries {
		owner := "demo-" + e.team + "-1"
		at(now.Add(-10*day+time.Duration(i)*day), owner)
		if _, err := c.saveSubmission(SaveSubmission{Team: e.team, Member: owner, Draft: e.draft, Title: e.title,
			Summary: "演示作品，内容为虚构。(Demo entry; its content is made up.)", Track: e.track,
			RepoURL: "https://example.com/demo/" + e.team}, d.at, d.emit); err != nil {
			return nil, err
		}
	}
	judges := [][3]string{
		{"demo-live-judge-1", "陶评审", "示例大学"},
		{"demo-live-judge-2", "Olivia Zhou", "示例资本"},
		{"demo-live-judge-3", "柯专家", "示例研究院"},
		{"demo-live-judge-4", "严老师", "示例设计学院"},
	}
	if staff.ID != "" {
		judges[0] = [3]string{staff.ID, staff.Name, "云栖 Yunqi"}
	}
	all := []string{"iot", "data", "ai"}
	at(now.Add(-3*day), "demo-organizer")
	for _, j := range judges {
		if err := c.assignJudge(AssignJudge{Judge: j[0], DisplayName: j[1], Organization: j[2], Tracks: all}, d.emit); err != nil {
			return nil, err
		}
	}
	at(now.Add(-3*day+time.Hour), judges[1][0])
	if err := c.declareConflict(judges[1][0], "live-rain-alert", "投资过该团队 · invested in the team", d.emit); err != nil {
		return nil, err
	}
	at(now.Add(-3*day+2*time.Hour), "demo-organizer")
	if _, err := c.autoAssign(2, d.emit); err != nil {
		return nil, err
	}
	at(now.Add(-2*day), "demo-organizer")
	if err := c.changePhase(events.PhaseReview, d.emit); err != nil {
		return nil, err
	}
	// About half the scores are in; the first judge is harsh, the second
	// generous, so the two rankings differ somewhere.
	bias := map[string]float64{judges[0][0]: -2, judges[1][0]: 1.5, judges[2][0]: 0, judges[3][0]: 0.5}
	quality := map[string]float64{"live-tea-trace": 7, "live-lake-bike": 8, "live-quiet-lib": 6, "live-old-town": 7.5, "live-rain-alert": 6.5, "live-shop-voice": 5.5}
	n := 0
	for _, id := range c.TeamOrder {
		t := c.Teams[id]
		if !t.Entered {
			continue
		}
		for _, j := range c.judgesOf(t) {
			n++
			if n%2 == 0 {
				continue
			}
			v := min(10, max(1, quality[id]+bias[j]))
			at(now.Add(-day+time.Duration(n)*time.Hour), j)
			if _, err := c.score(Score{Judge: j, Team: id, Round: events.RoundReview, Scores: []events.CriterionScore{
				{Criterion: "impact", Value: v}, {Criterion: "tech", Value: min(10, v+0.5)}, {Criterion: "demo", Value: max(1, v-1)}}}, d.emit); err != nil {
				return nil, err
			}
		}
	}
	return d.out, nil
}

var shanghai = time.FixedZone("CST", 8*3600)

func cst(month time.Month, day, hour int) time.Time {
	return time.Date(2013, month, day, hour, 0, 0, 0, shanghai)
}

type demoEntry struct {
	team, name, title, summary, track, repo, demo string
	members                                       [][2]string // display name, organisation
	scores                                        [3][5]float64
	finalist                                      bool
	award                                         string
}

var demoEntries = []demoEntry{
	{team: "xixi-birdwatch", name: "西溪观鸟小组", title: "西溪观鸟：拍照识鸟的湿地导览",
		summary: "在西溪湿地拍下一只鸟，手机应用在云端识别它的种类并标在湿地地图上；观鸟记录汇成按季节变化的分布图，供湿地保护站参考。图片存于对象存储，识别任务按需扩容。（演示作品 · demo entry）",
		track:   "mobile", repo: "https://example.com/demo/xixi-birdwatch", demo: "https://example.com/demo/xixi-birdwatch/try",
		members: [][2]string{{"林小溪", "浙江某大学"}, {"周观", "浙江某大学"}, {"Emma Liu", ""}}, finalist: true, award: "gold",
		scores: [3][5]float64{{9, 8, 9, 8, 9}, {8, 8, 8, 7, 8}, {7, 6, 7, 7, 6}}},
	{team: "longjing-weather", name: "龙井云气象", title: "茶园微气象：给茶农的霜冻预警",
		summary: "梅家坞茶园里的温湿度传感器每分钟上报一次，云端汇总后在倒春寒来临前两小时给茶农发短信预警。历史数据可按茶园、海拔和日期查询。（演示作品 · demo entry）",
		track:   "devservices", repo: "https://example.com/demo/longjing-weather",
		members: [][2]string{{"陈茗", "杭州示例科技"}, {"王雨前", "杭州示例科技"}}, finalist: true, award: "silver",
		scores: [3][5]float64{{8, 9, 8, 8, 7}, {8, 7, 8, 8, 8}, {6, 7, 6, 6, 7}}},
	{team: "qiantang-tide", name: "钱江潮工作室", title: "追潮：多人在线冲浪竞速",
		summary: "以钱塘江大潮为题材的多人竞速手游。对战服务器随在线人数弹性伸缩，观潮节当晚的峰值由自动扩容撑住，赛后回放存档可分享。（演示作品 · demo entry）",
		track:   "games", repo: "https://example.com/demo/qiantang-tide", demo: "https://example.com/demo/qiantang-tide/play",
		members: [][2]string{{"赵弄潮", "示例游戏工作室"}, {"孙浪", "示例游戏工作室"}, {"钱江", ""}, {"Leo Zhang", ""}}, finalist: true, award: "bronze",
		scores: [3][5]float64{{7, 8, 8, 9, 8}, {7, 7, 7, 8, 7}, {6, 5, 6, 7, 6}}},
	{team: "little-ledger", name: "小账本", title: "小账本：摊主的收款对账助手",
		summary: "夜市摊主一天收到几百笔扫码付款，小账本把各家收款通知汇成一张日账单，自动对出差错，月底一键生成简易报表。（演示作品 · demo entry）",
		track:   "finance", repo: "https://example.com/demo/little-ledger",
		members: [][2]string{{"吴记账", ""}}, finalist: true, award: "idea",
		scores: [3][5]float64{{8, 6, 7, 7, 8}, {7, 6, 7, 6, 7}, {7, 5, 6, 6, 6}}},
	{team: "log-telescope", name: "日志望远镜", title: "日志望远镜：跨主机的日志检索",
		summary: "把几十台云主机上的应用日志汇到一处，按关键字、时间和主机检索，错误激增时自动提醒值班的人。部署只需一条命令。（演示作品 · demo entry）",
		track:   "devservices", repo: "https://example.com/demo/log-telescope",
		members: [][2]string{{"郑运维", "示例网络"}, {"冯排障", "示例网络"}}, finalist: true,
		scores: [3][5]float64{{7, 7, 7, 6, 7}, {7, 6, 6, 7, 6}, {5, 6, 5, 5, 6}}},
	{team: "bus-stop", name: "到站了", title: "到站了：YunOS 桌面公交卡片",
		summary: "在 YunOS 手机桌面上显示附近公交的到站时间。（演示作品 · demo entry）",
		track:   "yunos", repo: "https://example.com/demo/bus-stop",
		members: [][2]string{{"何等车", ""}},
		scores:  [3][5]float64{{6, 6, 5, 6, 5}, {5, 6, 6, 5, 5}, {4, 5, 4, 5, 4}}},
}

// demoEvents decides the whole demo contest against an in-memory contest
// on a clock that walks through 2013.
func demoEvents() ([]events.Proposed, error) {
	c := newContest()
	var out []events.Proposed
	var at time.Time
	actor := "demo-organizer"
	emitFn := func(p any) {
		meta := events.Metadata{Actor: actor, OccurredAt: at.UTC(), Visibility: visibility(p), Subject: subject(p),
			CorrelationID: "demo-contest-2013"}
		ev, err := events.Types.New(p, meta)
		if err != nil {
			panic(err) // only unregistered types fail, which a test catches
		}
		ev.ID = events.IDFromKey("demo\x00contest\x00"+DemoContestID, len(out))
		out = append(out, ev)
		c.Apply(p, at.UTC())
	}
	step := func(when time.Time, who string, f func() error) error {
		at, actor = when, who
		return f()
	}
	named := func(id, zh, en string) events.ContestTrack {
		return events.ContestTrack{ID: id, NameZH: zh, NameEN: en}
	}
	award := func(id, zh, en string) events.ContestAward {
		return events.ContestAward{ID: id, NameZH: zh, NameEN: en}
	}
	criterion := func(id, zh, en string, w float64) events.RubricCriterion {
		return events.RubricCriterion{ID: id, NameZH: zh, NameEN: en, Weight: w}
	}
	rubric := events.RubricPublished{ScaleMin: 1, ScaleMax: 10, Criteria: []events.RubricCriterion{
		criterion("innovation", "创新性", "Innovation", 3),
		criterion("technology", "技术实现", "Technical depth", 3),
		criterion("cloud", "云计算的运用", "Use of the cloud", 2),
		criterion("completeness", "完成度", "Completeness", 1),
		criterion("presentation", "展示", "Presentation", 1),
	}}
	steps := []struct {
		at  time.Time
		who string
		f   func() error
	}{
		{cst(5, 20, 10), "demo-organizer", func() error {
			return c.create(CreateContest{ID: DemoContestID, NameZH: "2013 云栖开发者大赛", NameEN: "Yunqi Developer Contest 2013", Year: 2013, TeamSizeLimit: 5,
				Tracks: []events.ContestTrack{
					named("mobile", "移动互联网应用", "Mobile internet apps"), named("games", "游戏", "Games"),
					named("finance", "金融", "Finance"), named("devservices", "开发者服务", "Developer services"), named("yunos", "YunOS", "YunOS"),
				},
				Awards: []events.ContestAward{
					award("gold", "金奖", "Gold award"), award("silver", "银奖", "Silver award"),
					award("bronze", "铜奖", "Bronze award"), award("idea", "最佳创意奖", "Best idea award"),
				},
				Schedule: []events.ContestPhaseWindow{
					{Phase: events.PhaseRegistration, StartsAt: cst(6, 1, 0), EndsAt: cst(8, 1, 0)},
					{Phase: events.PhaseSubmission, StartsAt: cst(8, 1, 0), EndsAt: cst(9, 16, 0)},
					{Phase: events.PhaseReview, StartsAt: cst(9, 16, 0), EndsAt: cst(10, 11, 0)},
					{Phase: events.PhaseFinals, StartsAt: cst(10, 24, 9), EndsAt: cst(10, 24, 18)},
					{Phase: events.PhaseResults, StartsAt: cst(10, 24, 18), EndsAt: cst(10, 25, 18)},
				},
				Rubric: &rubric}, emitFn)
		}},
	}
	for _, s := range steps {
		if err := step(s.at, s.who, s.f); err != nil {
			return nil, err
		}
	}
	for i, e := range demoEntries {
		owner := "demo-" + e.team + "-1"
		if err := step(cst(6, 3+i, 10), owner, func() error {
			_, err := c.createTeam(CreateTeam{TeamID: e.team, Name: e.name, Member: owner, DisplayName: e.members[0][0],
				Organization: e.members[0][1], PublicName: true, Code: "DEMO-" + e.team}, at, emitFn)
			return err
		}); err != nil {
			return nil, err
		}
		for k, m := range e.members[1:] {
			who := fmt.Sprintf("demo-%s-%d", e.team, k+2)
			if err := step(cst(6, 5+i, 12+k), who, func() error {
				// The last member of the biggest team keeps their name
				// out of the gallery, as anyone may.
				_, err := c.joinTeam(JoinTeam{Code: "DEMO-" + e.team, Member: who, DisplayName: m[0], Organization: m[1], PublicName: k < 2}, at, emitFn)
				return err
			}); err != nil {
				return nil, err
			}
		}
	}
	if err := step(cst(8, 1, 0), "demo-organizer", func() error { return c.changePhase(events.PhaseSubmission, emitFn) }); err != nil {
		return nil, err
	}
	for i, e := range demoEntries {
		owner := "demo-" + e.team + "-1"
		save := func(draft bool, title string) func() error {
			return func() error {
				_, err := c.saveSubmission(SaveSubmission{Team: e.team, Member: owner, Draft: draft, Title: title, Summary: e.summary,
					Track: e.track, RepoURL: e.repo, DemoURL: e.demo}, at, emitFn)
				return err
			}
		}
		if err := step(cst(8, 20+i, 20), owner, save(true, e.title)); err != nil {
			return nil, err
		}
		if err := step(cst(9, 5+i, 21), owner, save(false, e.title)); err != nil {
			return nil, err
		}
		if i%2 == 0 {
			if err := step(cst(9, 14, 23), owner, save(false, e.title)); err != nil {
				return nil, err
			}
		}
	}
	judges := [][3]string{
		{"demo-judge-1", "许评审", "示例云计算研究院"},
		{"demo-judge-2", "Grace Wang", "示例创投"},
		{"demo-judge-3", "冯严格", "示例开发者社区"},
	}
	all := []string{"mobile", "games", "finance", "devservices", "yunos"}
	for _, j := range judges {
		if err := step(cst(9, 10, 10), "demo-organizer", func() error {
			return c.assignJudge(AssignJudge{Judge: j[0], DisplayName: j[1], Organization: j[2], Tracks: all}, emitFn)
		}); err != nil {
			return nil, err
		}
	}
	if err := step(cst(9, 16, 0), "demo-organizer", func() error { return c.changePhase(events.PhaseReview, emitFn) }); err != nil {
		return nil, err
	}
	scoreOf := func(v [5]float64, comment string) []events.CriterionScore {
		out := make([]events.CriterionScore, len(rubric.Criteria))
		for k, cr := range rubric.Criteria {
			out[k] = events.CriterionScore{Criterion: cr.ID, Value: v[k]}
		}
		out[0].Comment = comment
		return out
	}
	for ji, j := range judges {
		for i, e := range demoEntries {
			if err := step(cst(9, 20+ji, 9+i), j[0], func() error {
				_, err := c.score(Score{Judge: j[0], Team: e.team, Round: events.RoundReview, Scores: scoreOf(e.scores[ji], "思路清楚，演示完整。")}, emitFn)
				return err
			}); err != nil {
				return nil, err
			}
		}
	}
	// One judge revises a score after the review meeting's discussion.
	if err := step(cst(10, 9, 15), judges[2][0], func() error {
		_, err := c.score(Score{Judge: judges[2][0], Team: "little-ledger", Round: events.RoundReview, Scores: scoreOf([5]float64{8, 6, 6, 7, 7}, "复议后上调：对小商户确有用处。")}, emitFn)
		return err
	}); err != nil {
		return nil, err
	}
	var finalists []string
	for _, e := range demoEntries {
		if e.finalist {
			finalists = append(finalists, e.team)
		}
	}
	if err := step(cst(10, 10, 16), "demo-organizer", func() error { return c.shortlist(finalists, emitFn) }); err != nil {
		return nil, err
	}
	if err := step(cst(10, 11, 10), "demo-organizer", func() error { return c.changePhase(events.PhaseFinals, emitFn) }); err != nil {
		return nil, err
	}
	if err := step(cst(10, 11, 11), "demo-organizer", func() error { return c.promote(finalists, emitFn) }); err != nil {
		return nil, err
	}
	for ji, j := range judges {
		for i, e := range demoEntries {
			if !e.finalist {
				continue
			}
			v := e.scores[ji]
			for k := range v {
				v[k] = min(10, v[k]+0.5)
			}
			if err := step(cst(10, 24, 14+i/2), j[0], func() error {
				_, err := c.score(Score{Judge: j[0], Team: e.team, Round: events.RoundFinals, Scores: scoreOf(v, "现场答辩流畅。")}, emitFn)
				return err
			}); err != nil {
				return nil, err
			}
		}
	}
	var awards []Award
	for _, e := range demoEntries {
		if e.award != "" {
			awards = append(awards, Award{Team: e.team, Award: e.award})
		}
	}
	if err := step(cst(10, 24, 18), "demo-organizer", func() error {
		return c.publish(PublishResults{Awards: awards, Aggregation: string(ZScore)}, at, emitFn)
	}); err != nil {
		return nil, err
	}
	return out, nil
}
