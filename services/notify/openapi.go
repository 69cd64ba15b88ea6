package notify

import _ "embed"

//go:embed openapi.json
var openAPI []byte

// OpenAPI is the service's part of the API description, merged by the
// binary into /api/openapi.json.
func OpenAPI() []byte { return openAPI }
