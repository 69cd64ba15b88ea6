package identity

import _ "embed"

//go:embed openapi.json
var openAPI []byte

// OpenAPI is the service's part of the API description: the paths it
// serves and the schemas they use, which the binary merges into
// /api/openapi.json. Problem answers, security schemes and the
// Idempotency-Key parameter are shared by every service, so it refers to
// them by name and the binary defines them once.
func OpenAPI() []byte { return openAPI }
