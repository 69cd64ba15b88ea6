package gateway

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
)

// failover sends a proxied request to the instances of its service in the
// order ServeHTTP chose, moving on only while that is safe: the instance
// refused the connection and not a byte of the body has gone out, so the
// service cannot have acted on the request, whatever its method.
type failover struct {
	base http.RoundTripper
	g    *Gateway
}

func (f *failover) RoundTrip(req *http.Request) (*http.Response, error) {
	a := attemptFrom(req.Context())
	if a == nil {
		return f.base.RoundTrip(req)
	}
	var body *unreadBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &unreadBody{rc: req.Body}
	}
	var err error
	for i, in := range a.order {
		out := req.Clone(req.Context())
		retarget(out, in)
		if body != nil {
			out.Body = body
			// Lets the transport itself replay the body when a kept-alive
			// connection turns out closed before anything was written.
			out.GetBody = body.again
		}
		var res *http.Response
		res, err = f.base.RoundTrip(out)
		if err == nil {
			return res, nil
		}
		if req.Context().Err() != nil || !dialFailed(err) || body.wasRead() {
			return nil, err
		}
		f.g.mark(in, stateDown, err.Error())
		if i < len(a.order)-1 {
			f.g.logger.WarnContext(req.Context(), "could not connect to the instance; trying the next",
				"service", a.svc.name, "instance", in.base.String(), "err", err)
		}
	}
	return nil, err
}

// dialFailed tells a refused or unreachable instance, which never saw the
// request, from failures after the request was sent.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// unreadBody remembers whether any byte of a request body was read, so the
// body can be offered to the next instance only if none was. Close does
// nothing because http.Transport closes the body of a failed request, and
// the next attempt still needs it; the server closes the real one when the
// handler returns.
type unreadBody struct {
	rc   io.ReadCloser
	read atomic.Bool // the transport reads from its own goroutine
}

func (b *unreadBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.read.Store(true)
	}
	return n, err
}

func (b *unreadBody) Close() error { return nil }

func (b *unreadBody) wasRead() bool { return b != nil && b.read.Load() }

var errBodySent = errors.New("gateway: cannot send the request again: part of its body went out already")

func (b *unreadBody) again() (io.ReadCloser, error) {
	if b.wasRead() {
		return nil, errBodySent
	}
	return b, nil
}
