package events

import "time"

// PersonalDataSealed marks a log whose personal data is all sealed: written
// when a log is created sealed or after `yunqi events migrate-personal`, so
// a start does not have to look through the whole log again.
type PersonalDataSealed struct {
	Sealing string `json:"sealing"` // the sealed format, "yq1"
}

func registerSystem(r *Registry) {
	r.Register("system.PersonalDataSealed", PersonalDataSealed{}, 1)
	r.Register("keystore.DataKeyCreated", DataKeyCreated{}, 1)
	r.Register("keystore.DataKeyErased", DataKeyErased{}, 1)
	r.Register("keystore.MasterKeyCheckSet", MasterKeyCheckSet{}, 1)
}

// The key store of the EventStoreDB path (events/keystore/logkeys) keeps
// its records in the log. They hold keys wrapped by the master key, never a
// key in clear.

// DataKeyCreated is one version of a subject's data key.
type DataKeyCreated struct {
	Subject string    `json:"subject"`
	Version int       `json:"version"`
	Wrapped []byte    `json:"wrapped"`
	Created time.Time `json:"created"`
}

// DataKeyErased lists a subject on the erasure list.
type DataKeyErased struct {
	Subject string    `json:"subject"`
	At      time.Time `json:"at"`
}

// MasterKeyCheckSet holds the value that proves a master key is the one
// the key store was set up with.
type MasterKeyCheckSet struct {
	Value []byte `json:"value"`
}
