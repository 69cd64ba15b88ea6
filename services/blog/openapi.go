package blog

import _ "embed"

//go:embed openapi.json
var openAPI []byte

// OpenAPI is the service's part of the API description, which the binary
// merges into /api/openapi.json; shared answers and security schemes are
// referred to by name and defined once by the binary.
func OpenAPI() []byte { return openAPI }
