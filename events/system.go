package events

// PersonalDataSealed marks a log whose personal data is all sealed: written
// when a log is created sealed or after `yunqi events migrate-personal`, so
// a start does not have to look through the whole log again.
type PersonalDataSealed struct {
	Sealing string `json:"sealing"` // the sealed format, "yq1"
}

func registerSystem(r *Registry) {
	r.Register("system.PersonalDataSealed", PersonalDataSealed{}, 1)
}
