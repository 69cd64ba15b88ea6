package contest

import _ "embed"

//go:embed openapi.json
var openAPI []byte

// OpenAPI is the service's part of /api/openapi.json.
func OpenAPI() []byte { return openAPI }
