package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Run polls every instance's /healthz each HealthInterval, all at once,
// until ctx ends; then it returns nil. Without it nothing ever marks an
// instance up again after a failed request, and Ready stays false.
func (g *Gateway) Run(ctx context.Context) error {
	t := time.NewTicker(g.healthInterval)
	defer t.Stop()
	for {
		g.checkAll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// checkAll returns when every check has, so a slow instance delays the
// next round instead of piling checks onto itself.
func (g *Gateway) checkAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range g.services {
		for _, in := range s.instances {
			wg.Go(func() { g.check(ctx, in) })
		}
	}
	wg.Wait()
}

func (g *Gateway) check(ctx context.Context, in *instance) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.base.JoinPath("/healthz").String(), nil)
	if err != nil {
		g.mark(in, stateDown, err.Error()) // unreachable: New accepted the URL
		return
	}
	res, err := g.health.Do(req)
	if ctx.Err() != nil {
		return // shutting down: the instance is not to blame
	}
	if err != nil {
		g.mark(in, stateDown, err.Error())
		return
	}
	// Drained so that the connection is kept for the next round.
	io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		g.mark(in, stateDown, fmt.Sprintf("/healthz answered %d", res.StatusCode))
		return
	}
	g.mark(in, stateUp, "")
}

// mark records an instance's state and logs only changes, so a dead
// instance costs one log line, not one per poll.
func (g *Gateway) mark(in *instance, state int32, reason string) {
	old := in.state.Swap(state)
	if old == state {
		return
	}
	switch {
	case state == stateDown:
		g.logger.Warn("instance down", "service", in.service, "instance", in.base.String(), "reason", reason)
	case old == stateUnknown:
		g.logger.Info("instance up", "service", in.service, "instance", in.base.String())
	default:
		g.logger.Info("instance back up", "service", in.service, "instance", in.base.String())
	}
}

// Ready is nil when every routed service has an instance whose last health
// check passed; otherwise its error names the services without one. It
// suits httpserver's AddReadyCheck.
func (g *Gateway) Ready(context.Context) error {
	var missing []string
	for _, s := range g.services {
		if len(s.instances) == 0 {
			continue
		}
		up := false
		for _, in := range s.instances {
			up = up || in.state.Load() == stateUp
		}
		if !up {
			missing = append(missing, s.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no healthy instance of %s", strings.Join(missing, ", "))
	}
	return nil
}
