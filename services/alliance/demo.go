package alliance

import (
	"context"
	"fmt"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// founder is one of the 29 companies named at the alliance's first meeting
// on the evening of 2013-10-24. City, industry and founding year are given
// only where they are well known; blank ones are left for the members to
// fill in rather than guessed.
type founder struct {
	id, zh, en, city, industry string
	year                       int
	website, description       string
}

var founders = []founder{
	{"aliyun", "阿里云", "Alibaba Cloud", "杭州", "云计算", 2009, "https://www.aliyun.com", "阿里巴巴集团的云计算平台，在云栖小镇建起了第一个数据中心，召集成立了云栖小镇联盟。"},
	{"huatong", "华通", "", "", "数据中心", 0, "", "数据中心与网络服务商，联盟创始成员。"},
	{"sichuan-telecom", "四川电信", "China Telecom Sichuan", "成都", "电信运营", 0, "", "中国电信在四川的分公司，提供通信网络服务。"},
	{"towngas-telecom", "香港名气通", "Towngas Telecom", "香港", "电信与数据中心", 0, "", "香港的电信与数据中心服务商。"},
	{"aliyun-incubator", "阿里云创业创新基地", "Alibaba Cloud Entrepreneurship and Innovation Base", "杭州", "创业孵化", 0, "", "为使用云计算的创业团队提供场地和扶持的孵化基地。"},
	{"hangzhou-bay-infoport", "杭州湾信息港", "Hangzhou Bay Information Port", "", "信息产业园区", 0, "", "面向信息技术企业的产业园区。"},
	{"zj-transport-info", "浙江省交通厅信息中心", "Information Center, Zhejiang Provincial Department of Transportation", "杭州", "政务信息化", 0, "", "负责浙江省交通运输系统信息化建设的机构。"},
	{"zj-water-info", "浙江省水利厅信息中心", "Information Center, Zhejiang Provincial Department of Water Resources", "杭州", "政务信息化", 0, "", "负责浙江省水利系统信息化建设的机构。"},
	{"oschina", "开源中国", "OSChina", "深圳", "开发者社区", 2008, "https://www.oschina.net", "中文开源技术社区，收录开源项目，提供资讯、问答和代码托管。"},
	{"ancun", "安存", "Ancun", "杭州", "电子数据保全", 0, "", "为电子数据提供存证与保全服务。"},
	{"wanxie", "玩蟹", "Wanxie", "北京", "手机游戏", 0, "", "手机游戏开发商。"},
	{"wanke", "玩客", "", "", "", 0, "", "联盟创始成员。"},
	{"gokuai", "够快", "GoKuai", "上海", "企业云存储", 0, "", "为企业提供文件存储、同步与协作的云服务。"},
	{"ginkgo-valley", "银杏谷基金", "Ginkgo Valley Fund", "杭州", "风险投资", 0, "", "投资早期科技企业的风险投资基金。"},
	{"citic", "中信", "CITIC", "北京", "综合金融与实业", 0, "", "业务覆盖金融与实业的综合性企业集团。"},
	{"tianlv", "天律", "", "", "", 0, "", "联盟创始成员。"},
	{"tianhong", "天弘基金", "Tianhong Asset Management", "天津", "基金管理", 2004, "", "公募基金管理公司。"},
	{"chinasoft", "中软国际", "Chinasoft International", "北京", "软件与信息技术服务", 2000, "", "提供软件开发与信息技术外包服务。"},
	{"kelan", "科蓝", "Kelan Software", "北京", "金融软件", 0, "", "为银行等金融机构开发软件。"},
	{"hundsun", "恒生", "Hundsun Technologies", "杭州", "金融软件", 1995, "", "为证券、基金等金融机构提供软件与技术服务。"},
	{"kingdom", "金证", "Kingdom", "深圳", "金融软件", 1998, "", "为证券、基金等金融机构提供软件与技术服务。"},
	{"zhongan", "众安", "ZhongAn Insurance", "上海", "互联网保险", 2013, "", "在线经营的财产保险公司。"},
	{"primeton", "普元", "Primeton", "上海", "企业软件", 2003, "", "开发企业应用中间件与软件平台。"},
	{"cnblogs", "博客园", "cnblogs", "杭州", "开发者社区", 2004, "https://www.cnblogs.com", "面向开发者的中文技术博客社区。"},
	{"weiphone", "威锋网", "WeiPhone", "", "数码社区", 0, "", "中文数码产品爱好者社区。"},
	{"csdn", "CSDN", "CSDN", "北京", "开发者社区", 1999, "https://www.csdn.net", "中文开发者社区，提供技术博客、论坛与资讯。"},
	{"itvalue", "ITValue", "ITValue", "北京", "IT 管理者社区", 0, "", "面向企业 IT 管理者的社区。"},
	{"teamcola", "TeamCola", "TeamCola", "", "团队协作软件", 0, "", "团队协作与任务管理软件。"},
	{"qupai", "趣拍", "Qupai", "", "移动视频", 0, "", "手机短视频拍摄应用与开发工具包。"},
}

// founding is when the alliance was founded: the evening of 2013-10-24 in
// Yunqi Town, after the contest finals.
var founding = time.Date(2013, 10, 24, 20, 0, 0, 0, hangzhou)

// FoundingDay is the join date of every founding member.
const FoundingDay = "2013-10-24"

// SeedDemo writes the founding members, each admitted on the founding day
// with its names claimed. It is meant for an empty log; each stream is
// written expecting no stream, so running it twice writes nothing twice.
func SeedDemo(ctx context.Context, store events.Store) error {
	for _, f := range founders {
		p := events.StartupProfile{NameZH: f.zh, NameEN: f.en, Website: f.website, City: f.city, Industry: f.industry,
			FoundedYear: f.year, Description: f.description}
		meta := func(v events.Visibility) events.Metadata {
			return events.Metadata{Actor: events.ActorSystem, OccurredAt: founding.UTC(), Visibility: v, CorrelationID: "demo"}
		}
		ev, err := events.Types.New(events.MemberAdmitted{MemberID: f.id, Tier: events.TierFounding, JoinedOn: FoundingDay, Profile: p}, meta(events.Public))
		if err != nil {
			return err
		}
		ev.ID = events.IDFromKey("alliance-demo\x00"+f.id, 0)
		if _, err := store.Append(ctx, events.MemberStream(f.id), events.NoStream, ev); err != nil {
			return fmt.Errorf("seed %s: %w", f.id, err)
		}
		for i, key := range claimKeys(p) {
			c, err := events.Types.New(events.StartupNameClaimed{Name: key, MemberID: f.id}, meta(events.System))
			if err != nil {
				return err
			}
			c.ID = events.IDFromKey("alliance-demo-claim\x00"+f.id, i)
			if _, err := store.Append(ctx, claimStream(key), events.NoStream, c); err != nil {
				return fmt.Errorf("seed %s: claim: %w", f.id, err)
			}
		}
	}
	return seedDemoApplications(ctx, store)
}

// demoApplications wait in the review queue, so that the demo's reviewer
// and organiser accounts have something to review. They are made up, and
// say so.
var demoApplications = []events.StartupProfile{
	{NameZH: "西溪数据（演示）", NameEN: "Xixi Data (demo)", City: "杭州", Industry: "数据服务", FoundedYear: 2025, TeamSize: 6,
		Website: "https://xixi-data.example.com", Description: "演示用的申请，内容为虚构：为小城镇商户做客流分析。(A made-up application for the demo.)"},
	{NameZH: "钱塘云声（演示）", NameEN: "Qiantang Voice (demo)", City: "杭州", Industry: "语音技术", FoundedYear: 2024, TeamSize: 4,
		Website: "https://qiantang-voice.example.com", Description: "演示用的申请，内容为虚构：方言语音识别。(A made-up application for the demo.)"},
}

func seedDemoApplications(ctx context.Context, store events.Store) error {
	at := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Hour)
	for i, profile := range demoApplications {
		id := events.IDFromKey("alliance-demo-application", i).String()
		applicant := events.IDFromKey("alliance-demo-applicant", i).String()
		payloads := []any{
			events.ApplicationDrafted{ApplicationID: id, Applicant: applicant, Profile: profile,
				Personal: events.ApplicantContact{Name: "演示联系人 Demo contact", Email: fmt.Sprintf("applicant%d@demo.yunqi.example", i+1)}},
			events.ApplicationSubmitted{ApplicationID: id, Round: 1},
		}
		var proposed []events.Proposed
		for j, p := range payloads {
			ev, err := events.Types.New(p, events.Metadata{Actor: applicant, Subject: applicant, CorrelationID: "demo",
				OccurredAt: at.Add(time.Duration(i*60+j) * time.Minute), Visibility: visibility(p)})
			if err != nil {
				return err
			}
			ev.ID = events.IDFromKey("alliance-demo-application\x00"+id, j)
			proposed = append(proposed, ev)
		}
		if _, err := store.Append(ctx, events.ApplicationStream(id), events.NoStream, proposed...); err != nil {
			return fmt.Errorf("seed application %d: %w", i, err)
		}
	}
	return nil
}
