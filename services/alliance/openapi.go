package alliance

import _ "embed"

//go:embed openapi.json
var openAPI []byte

// OpenAPI is the service's part of the API description, merged by the
// binary into /api/openapi.json; shared problems, security schemes and
// parameters are referred to by name.
func OpenAPI() []byte { return openAPI }
