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

// demoEditions are three editions as history has them: the first
// conference (400 and more people), the first in Yunqi Town with its five
// sub-forums, and the first under the name Yunqi Conference.
var demoEditions = []CreateEdition{
	{ID: "yunqi-2009", NameZH: "2009 开发者大会", NameEN: "2009 Developer Conference", Capacity: 400},
	{ID: "yunqi-2013", NameZH: "2013 开发者大会：云计算的蝴蝶效应", NameEN: "2013 Developer Conference: the butterfly effect of cloud computing",
		StartsOn: "2013-10-24", EndsOn: "2013-10-25", Venue: "云栖小镇 Yunqi Town, Hangzhou", Capacity: 5000,
		Tracks: append(append([]Track(nil), demoTracks...),
			Track{ID: "mobile-apps", NameZH: "移动互联网应用分论坛", NameEN: "Mobile internet apps sub-forum"},
			Track{ID: "games", NameZH: "游戏分论坛", NameEN: "Games sub-forum"},
			Track{ID: "finance", NameZH: "金融分论坛", NameEN: "Finance sub-forum"},
			Track{ID: "developer-services", NameZH: "开发者服务分论坛", NameEN: "Developer services sub-forum"},
			Track{ID: "yunos", NameZH: "YunOS 分论坛", NameEN: "YunOS sub-forum"},
		)},
	{ID: "yunqi-2015", NameZH: "2015 云栖大会", NameEN: "2015 Yunqi Conference", Venue: "云栖小镇 Yunqi Town, Hangzhou",
		Capacity: 22000, Tracks: demoTracks},
}

// SeedDemo schedules the demo editions through the same decision as the
// API's, each in its own ledger stream, expecting the stream to be new.
func SeedDemo(ctx context.Context, store events.Store) error {
	now := time.Now().UTC()
	for _, c := range demoEditions {
		ed := newEdition()
		var proposed []events.Proposed
		var emitErr error
		err := ed.createEdition(c, func(p any) {
			ev, err := events.Types.New(p, events.Metadata{Actor: events.ActorSystem, CorrelationID: "demo", OccurredAt: now, Visibility: visibility(p)})
			if err != nil {
				emitErr = err
				return
			}
			ev.ID = events.IDFromKey("conference-demo\x00"+c.ID, len(proposed))
			proposed = append(proposed, ev)
			ed.Apply(p, now)
		})
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
