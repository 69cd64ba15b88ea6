package search

import _ "embed"

//go:embed openapi.json
var openAPI []byte

// OpenAPI is the service's part of the API description, which the binary
// merges into /api/openapi.json.
func OpenAPI() []byte { return openAPI }
