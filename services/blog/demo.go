package blog

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// The demo blog: a few posts written for the demo in the manner of the
// Progress Collection (a team moving a large developer site to the cloud
// and writing up each problem), curated into a collection and published,
// so that a newcomer sees a blog with history and a book at once.

const (
	demoBlog       = "cloud-notes"
	demoCollection = "progress-demo"
	demoOwnerName  = "云栖示例团队"
)

type demoPost struct {
	slug, title, summary string
	tags                 []string
	date                 time.Time
	body                 string
	// revised, when set, is a later revision of the body.
	revised string
}

func demoDate(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 9, 0, 0, 0, time.UTC) }

var demoPosts = []demoPost{
	{slug: "why-move", title: "为什么要搬到云上", summary: "一个开发者社区网站决定把服务器搬上云，先写下理由和顾虑。",
		tags: []string{"迁移", "规划"}, date: demoDate(2012, time.November, 2),
		body: "我们的网站每天有几十万开发者来读文章、发博客。机房的服务器用了五年，扩容要排队采购，半夜硬盘坏了要有人跑去换。\n\n" +
			"## 我们担心的事\n\n- 云上的磁盘会不会比本地盘慢？\n- 数据库搬过去以后写入会不会超时？\n- 出了问题能不能找到人？\n\n" +
			"我们决定：每遇到一个问题，就写一篇文章，把现象、排查过程和最后的办法都记下来。这个系列就从这篇开始。\n"},
	{slug: "disk-io-jitter", title: "磁盘 IO 抖动", summary: "云服务器的磁盘延迟偶尔飙到几百毫秒，我们怎么找到原因。",
		tags: []string{"存储", "性能"}, date: demoDate(2013, time.January, 15),
		body: "上线第二周，文章页偶尔要等好几秒才打开。监控显示 Web 服务器的 CPU 不高，但 `iowait` 一阵一阵地涨。\n\n" +
			"## 排查\n\n我们在出问题的机器上跑了：\n\n```sh\niostat -x 1\n```\n\n" +
			"`await` 平时是几毫秒，抖动时到了三四百毫秒。日志写得太频繁，每写一行都要落盘。\n\n" +
			"## 办法\n\n把访问日志改成批量写入，并把临时文件放到内存盘上。之后再没有出现过长时间的抖动。\n",
		revised: "上线第二周，文章页偶尔要等好几秒才打开。监控显示 Web 服务器的 CPU 不高，但 `iowait` 一阵一阵地涨。\n\n" +
			"## 排查\n\n我们在出问题的机器上跑了：\n\n```sh\niostat -x 1\n```\n\n" +
			"`await` 平时是几毫秒，抖动时到了三四百毫秒。日志写得太频繁，每写一行都要落盘；同一台物理机上的其他云服务器也在抢磁盘。\n\n" +
			"## 办法\n\n把访问日志改成批量写入，并把临时文件放到内存盘上；云平台也为我们换到了负载更低的存储集群。之后再没有出现过长时间的抖动。\n\n" +
			"| 指标 | 调整前 | 调整后 |\n|---|---|---|\n| 平均 await | 12 ms | 3 ms |\n| 最长 await | 420 ms | 35 ms |\n"},
	{slug: "db-write-timeout", title: "数据库写入超时", summary: "发博客时偶尔提示保存失败，原来是长事务和锁。",
		tags: []string{"数据库", "性能"}, date: demoDate(2013, time.March, 8),
		body: "有用户反馈：点“发布”以后等了三十秒，提示保存失败，再点一次又好了。\n\n" +
			"我们打开慢查询日志，发现一个统计阅读数的任务每隔几分钟就在一个大事务里更新上万行，把文章表锁住了。\n\n" +
			"## 办法\n\n1. 阅读数先记在缓存里，每分钟合并写回一次；\n2. 大批量更新拆成每批一千行的小事务；\n3. 给写入加上超时和重试，并在页面上告诉用户发生了什么。\n"},
	{slug: "memcached-stall", title: "memcached 卡顿", summary: "缓存服务器偶尔不响应，整站跟着变慢。",
		tags: []string{"缓存", "网络"}, date: demoDate(2013, time.May, 21),
		body: "缓存命中率很高，可每天总有几分钟整站变慢。抓包发现，Web 服务器到 memcached 的连接数在那几分钟里涨到了上限。\n\n" +
			"原因是一个热门页面的缓存过期后，几百个请求同时去数据库重建同一份数据，再同时写回缓存。\n\n" +
			"## 办法\n\n重建缓存时只让一个请求去查数据库，其他请求先拿旧数据；连接池设上限并复用连接。\n"},
	{slug: "client-ip", title: "负载均衡后面拿不到用户 IP", summary: "所有请求看起来都来自同一个地址，限流和统计都乱了。",
		tags: []string{"网络", "负载均衡"}, date: demoDate(2013, time.July, 30),
		body: "把网站放到负载均衡后面以后，日志里所有访问都来自负载均衡的内网地址，按 IP 限流把正常用户也拦住了。\n\n" +
			"## 办法\n\n负载均衡会在 `X-Forwarded-For` 请求头里带上用户的真实地址。我们只信任来自负载均衡地址的这个请求头，" +
			"其他来源一律忽略，免得有人伪造。\n\n这也是 Yunqi 的 `--trusted-proxy` 设置要解决的问题。\n"},
}

const demoPreface = "这是一本示例文集：一个开发者社区网站搬到云上的一年里，团队把遇到的每个问题写成博客，" +
	"再按时间顺序编成一本书。\n\n每一章都固定在出版时的那一版文章上：作者之后再修改文章，已经出版的书不会悄悄改变；" +
	"重新出版就是新的一版。\n"

// SeedDemo writes the demo blog and its collection. Event ids derive
// from the demo's own keys, so seeding twice writes nothing twice.
func SeedDemo(ctx context.Context, store events.Store) error {
	key := func(parts ...string) string { return "blog-demo\x00" + strings.Join(parts, "\x00") }
	appendOne := func(stream string, at time.Time, vis events.Visibility, id string, payloads ...any) error {
		proposed := make([]events.Proposed, len(payloads))
		for i, p := range payloads {
			ev, err := events.Types.New(p, events.Metadata{Actor: events.ActorSystem, OccurredAt: at, Visibility: vis})
			if err != nil {
				return err
			}
			ev.ID = events.IDFromKey(key(stream, id), i)
			proposed[i] = ev
		}
		_, err := store.Append(ctx, stream, events.Any, proposed...)
		return err
	}
	created := demoDate(2012, time.October, 20)
	if err := appendOne(events.BlogStream(demoBlog), created, events.Public, "created", events.BlogCreated{
		Name: demoBlog, Title: "上云笔记", TitleEn: "Notes from moving to the cloud",
		Description: "一个开发者社区网站搬到云上的一年：每个问题、每次排查、每个办法。", Owner: events.ActorSystem, OwnerPersonal: events.OwnerPersonal{OwnerName: demoOwnerName},
	}); err != nil {
		return fmt.Errorf("demo blog: %w", err)
	}
	var chapters []events.PublishedChapter
	var plan []events.CollectionChapter
	for _, dp := range demoPosts {
		c := events.PostContent{Title: dp.title, Authors: []string{demoOwnerName}, Date: dp.date, Tags: dp.tags, Summary: dp.summary, Body: dp.body}
		c = normalise(c)
		c.ContentHash = ContentHash(c)
		stream := events.PostStream(demoBlog, dp.slug)
		if err := appendOne(stream, dp.date, events.Public, "1", events.PostPublished{Blog: demoBlog, Slug: dp.slug, Revision: 1,
			Published: dp.date, EditorPersonal: events.EditorPersonal{EditorName: demoOwnerName}, PostContent: c}); err != nil {
			return fmt.Errorf("demo post %s: %w", dp.slug, err)
		}
		const rev = 1
		if dp.revised != "" {
			c.Body = dp.revised
			c.ContentHash = ContentHash(c)
			// Revised after the book went out: the edition keeps revision 1.
			if err := appendOne(stream, demoDate(2014, time.March, 3), events.Public, "2", events.PostRevised{Blog: demoBlog, Slug: dp.slug, Revision: 2,
				EditorPersonal: events.EditorPersonal{EditorName: demoOwnerName}, PostContent: c}); err != nil {
				return fmt.Errorf("demo post %s: %w", dp.slug, err)
			}
		}
		part := "2012"
		if dp.date.Year() == 2013 {
			part = "2013"
		}
		plan = append(plan, events.CollectionChapter{Blog: demoBlog, Slug: dp.slug, Part: part})
		chapters = append(chapters, events.PublishedChapter{Blog: demoBlog, Slug: dp.slug, Part: part, Title: dp.title, Revision: rev, Authors: []string{demoOwnerName}})
	}
	details := events.CollectionDetails{Title: "进步集（示例）", TitleEn: "The Progress Collection (sample)",
		Subtitle: "一个网站上云的一年", Preface: demoPreface, Language: "zh-CN"}
	stream := events.CollectionStream(demoCollection)
	if err := appendOne(stream, demoDate(2014, time.January, 6), events.Owner, "created",
		events.CollectionCreated{ID: demoCollection, Curator: events.ActorSystem, Chapters: plan, CollectionDetails: details}); err != nil {
		return fmt.Errorf("demo collection: %w", err)
	}
	if err := appendOne(stream, demoDate(2014, time.January, 10), events.Public, "edition-1",
		events.CollectionPublished{ID: demoCollection, Edition: 1, Published: demoDate(2014, time.January, 10), Chapters: chapters, CollectionDetails: details}); err != nil {
		return fmt.Errorf("demo collection: %w", err)
	}
	return nil
}
