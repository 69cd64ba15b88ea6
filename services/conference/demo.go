package conference

import (
	"context"
	"fmt"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// The five technical tracks the conference has had since 2010.
var demoTracks = []Track{
	{ID: "elastic-compute", NameZH: "弹性计算", NameEN: "Elastic compute"},
	{ID: "storage", NameZH: "大规模存储", NameEN: "Large-scale storage"},
	{ID: "cloud-network", NameZH: "云网络", NameEN: "Cloud network"},
	{ID: "computing", NameZH: "大规模计算", NameEN: "Large-scale computing"},
	{ID: "big-data", NameZH: "大数据", NameEN: "Big data"},
}

// shanghai is the venue's clock: sessions are planned in local time.
var shanghai = time.FixedZone("CST", 8*3600)

func at(y int, m time.Month, d, hour, min int) time.Time {
	return time.Date(y, m, d, hour, min, 0, 0, shanghai).UTC()
}

// demoEdition is an edition with its programme.
type demoEdition struct {
	CreateEdition
	Sessions []AddSession
}

// trackSessions gives each of the five tracks a session over two days:
// two pairs side by side and big data alone, so that a registrant can
// choose several without a clash, and sees a clash refused.
func trackSessions(y int, m time.Month, d int, titles [5]string, capacity int) []AddSession {
	slots := [5][2]time.Time{
		{at(y, m, d, 9, 30), at(y, m, d, 12, 0)},
		{at(y, m, d, 9, 30), at(y, m, d, 12, 0)},
		{at(y, m, d, 14, 0), at(y, m, d, 17, 30)},
		{at(y, m, d, 14, 0), at(y, m, d, 17, 30)},
		{at(y, m, d+1, 9, 30), at(y, m, d+1, 12, 0)},
	}
	rooms := [5]string{"A1", "A2", "B1", "B2", "C"}
	out := make([]AddSession, 5)
	for i, t := range demoTracks {
		out[i] = AddSession{ID: t.ID, Track: t.ID, Title: titles[i], Room: rooms[i],
			StartsAt: slots[i][0], EndsAt: slots[i][1], Capacity: capacity}
	}
	return out
}

// demoEditions are the editions as history has them — the first
// conference (400 and more people), the first in Yunqi Town with its five
// sub-forums, the first under the name Yunqi Conference with its five
// tracks, all closed for registration long ago — and next year's, open.
func demoEditions(now time.Time) []demoEdition {
	next := now.In(shanghai).Year() + 1
	subForums := []Track{
		{ID: "mobile-apps", NameZH: "移动互联网应用分论坛", NameEN: "Mobile internet apps sub-forum"},
		{ID: "games", NameZH: "游戏分论坛", NameEN: "Games sub-forum"},
		{ID: "finance", NameZH: "金融分论坛", NameEN: "Finance sub-forum"},
		{ID: "developer-services", NameZH: "开发者服务分论坛", NameEN: "Developer services sub-forum"},
		{ID: "yunos", NameZH: "YunOS 分论坛", NameEN: "YunOS sub-forum"},
	}
	var forums2013 []AddSession
	for i, t := range subForums {
		// The sub-forums ran side by side on the second day.
		forums2013 = append(forums2013, AddSession{ID: t.ID, Track: t.ID, Title: t.NameZH + " " + t.NameEN, Room: fmt.Sprintf("分会场 %d", i+1),
			StartsAt: at(2013, 10, 25, 13, 30), EndsAt: at(2013, 10, 25, 17, 30), Capacity: 800})
	}
	return []demoEdition{
		{CreateEdition: CreateEdition{ID: "yunqi-2009", NameZH: "2009 开发者大会", NameEN: "2009 Developer Conference", Capacity: 400,
			RegistrationCloses: at(2010, 1, 1, 0, 0)}},
		{CreateEdition: CreateEdition{ID: "yunqi-2013", NameZH: "2013 开发者大会：云计算的蝴蝶效应", NameEN: "2013 Developer Conference: the butterfly effect of cloud computing",
			StartsOn: "2013-10-24", EndsOn: "2013-10-25", Venue: "云栖小镇 Yunqi Town, Hangzhou", Capacity: 5000,
			RegistrationCloses: at(2013, 10, 24, 0, 0),
			Tracks:             append(append([]Track(nil), demoTracks...), subForums...)},
			Sessions: forums2013},
		{CreateEdition: CreateEdition{ID: "yunqi-2015", NameZH: "2015 云栖大会", NameEN: "2015 Yunqi Conference",
			StartsOn: "2015-10-14", EndsOn: "2015-10-17", Venue: "云栖小镇 Yunqi Town, Hangzhou",
			Capacity: 22000, RegistrationCloses: at(2015, 10, 14, 0, 0), Tracks: demoTracks},
			Sessions: trackSessions(2015, 10, 15, [5]string{"弹性计算 Elastic compute", "大规模存储 Large-scale storage",
				"云网络 Cloud network", "大规模计算 Large-scale computing", "大数据 Big data"}, 3000)},
		{CreateEdition: CreateEdition{ID: fmt.Sprintf("yunqi-%d", next), NameZH: fmt.Sprintf("%d 云栖大会", next), NameEN: fmt.Sprintf("%d Yunqi Conference", next),
			StartsOn: fmt.Sprintf("%d-10-20", next), EndsOn: fmt.Sprintf("%d-10-22", next), Venue: "云栖小镇 Yunqi Town, Hangzhou",
			Capacity: 3000, RegistrationCloses: at(next, 10, 13, 0, 0), CancellationDeadline: at(next, 10, 16, 0, 0),
			WaitlistLimit: 500, Tracks: demoTracks,
			TicketTypes: []TicketType{{ID: "student", Quota: 300}, {ID: "speaker", InviteOnly: true}}},
			Sessions: trackSessions(next, 10, 21, [5]string{"弹性计算：从虚拟机到无服务器 Elastic compute: from VMs to serverless",
				"大规模存储：十年不丢一个字节 Large-scale storage: ten years without losing a byte",
				"云网络 Cloud network", "大规模计算：飞天十年 Large-scale computing: ten years of Feitian",
				"大数据 Big data"}, 400)},
	}
}

// SeedDemo schedules the demo editions through the same decision as the
// API's, each in its own ledger stream, expecting the stream to be new.
func SeedDemo(ctx context.Context, store events.Store) error {
	now := time.Now().UTC()
	for _, c := range demoEditions(now) {
		ed := newEdition()
		var proposed []events.Proposed
		var emitErr error
		emit := func(p any) {
			ev, err := events.Types.New(p, events.Metadata{Actor: events.ActorSystem, CorrelationID: "demo", OccurredAt: now, Visibility: visibility(p)})
			if err != nil {
				emitErr = err
				return
			}
			ev.ID = events.IDFromKey("conference-demo\x00"+c.ID, len(proposed))
			proposed = append(proposed, ev)
			ed.Apply(p, now)
		}
		err := ed.createEdition(c.CreateEdition, emit)
		for _, sess := range c.Sessions {
			if err == nil {
				err = ed.addSession(sess, emit)
			}
		}
		if err == nil {
			err = emitErr
		}
		if err != nil {
			return fmt.Errorf("seed edition %s: %w", c.ID, err)
		}
		if _, err := store.Append(ctx, events.EditionStream(c.ID), events.NoStream, proposed...); err != nil {
			return fmt.Errorf("seed edition %s: %w", c.ID, err)
		}
	}
	return nil
}
