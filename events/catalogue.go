package events

// Types is the catalogue: every event type of every domain, registered in one
// table at start-up. Services, projections and tools (events tail, export)
// decode through it, so a wire name can be looked up without knowing which
// service wrote it. Each domain adds itself with one register call here.
var Types = newCatalogue()

func newCatalogue() *Registry {
	r := NewRegistry()
	registerIdentity(r)
	registerBlog(r)
	registerConference(r)
	registerAlliance(r)
	registerContest(r)
	registerNotify(r)
	registerSystem(r)
	return r
}
