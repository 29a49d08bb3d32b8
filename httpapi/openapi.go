package httpapi

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// openAPIDocument builds the OpenAPI 3.1 document from the route table and
// the Go types the handlers decode and encode.
func openAPIDocument(routes []route, version string) map[string]any {
	g := &schemaGen{components: map[string]any{}}
	paths := map[string]map[string]any{}
	for _, rt := range routes {
		opDoc := map[string]any{
			"summary":     rt.Summary,
			"description": "Who may call it: " + rt.Who + ".",
			"operationId": operationID(rt),
			"responses":   map[string]any{},
		}
		var params []any
		for _, name := range pathParams.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": name[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.Query {
			params = append(params, map[string]any{"name": q.Name, "in": "query", "description": q.Description, "schema": map[string]any{"type": "string"}})
		}
		if len(params) > 0 {
			opDoc["parameters"] = params
		}
		if rt.In != nil {
			// The server reads an empty body as {}: the body is required
			// only when the object has required fields.
			in := g.schema(rt.In)
			opDoc["requestBody"] = map[string]any{"required": g.hasRequired(in), "content": map[string]any{
				"application/json": map[string]any{"schema": in}}}
		}
		resp := opDoc["responses"].(map[string]any)
		if rt.Out == nil {
			resp[itoa(rt.Status)] = map[string]any{"description": "done"}
		} else {
			ct := rt.ContentType
			if ct == "" {
				ct = "application/json"
			}
			resp[itoa(rt.Status)] = map[string]any{"description": "success", "content": map[string]any{
				ct: map[string]any{"schema": g.schema(rt.Out)}}}
		}
		resp["default"] = map[string]any{"description": "an error", "content": map[string]any{
			"application/json": map[string]any{"schema": g.schema(reflect.TypeFor[lockbox.ErrorBody]())}}}
		if !rt.Public {
			opDoc["security"] = []any{map[string]any{"bearer": []any{}}}
		}
		if paths[rt.Path] == nil {
			paths[rt.Path] = map[string]any{}
		}
		paths[rt.Path][strings.ToLower(rt.Method)] = opDoc
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "lockbox API", "version": version,
			"description": "The Customer Lockbox API. Errors are {\"error\": {\"code\", \"message\"}}; durations are Go duration strings; times are RFC 3339 UTC."},
		"paths": paths,
		"components": map[string]any{
			"schemas":         g.components,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
		},
	}
}

var pathParams = regexp.MustCompile(`\{([a-z_]+)\}`)

func operationID(rt route) string {
	s := strings.ToLower(rt.Method) + strings.NewReplacer("/v1/", "_", "/", "_", "{", "", "}", "").Replace(rt.Path)
	return strings.Trim(s, "_")
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// enums lists the values of the domain's string enums.
var enums = map[reflect.Type][]string{
	reflect.TypeFor[lockbox.RequestStatus]():  strs(lockbox.AllStatuses),
	reflect.TypeFor[lockbox.AccessLevel]():    strs(lockbox.AccessLevels),
	reflect.TypeFor[lockbox.ReasonType]():     strs(lockbox.ReasonTypes),
	reflect.TypeFor[lockbox.UserKind]():       {"operator", "customer"},
	reflect.TypeFor[lockbox.Role]():           append(strs(lockbox.RolesOf(lockbox.KindOperator)), strs(lockbox.RolesOf(lockbox.KindCustomer))...),
	reflect.TypeFor[lockbox.TicketStatus]():   {"open", "resolved"},
	reflect.TypeFor[lockbox.Stage]():          {"internal", "customer"},
	reflect.TypeFor[lockbox.ReviewDecision](): {"approve", "deny"},
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// schemaGen turns Go types into JSON Schemas, named structs into components.
type schemaGen struct{ components map[string]any }

var typeName = regexp.MustCompile(`[^A-Za-z0-9]+`)

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[time.Time]():
		return map[string]any{"type": "string", "format": "date-time"}
	case reflect.TypeFor[lockbox.Duration]():
		return map[string]any{"type": "string", "description": "a Go duration such as \"90m\" or \"8h\""}
	case reflect.TypeFor[json.RawMessage]():
		return map[string]any{"type": "object"}
	}
	if vs, ok := enums[t]; ok {
		return map[string]any{"type": "string", "enum": vs}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			// encoding/json writes []byte as a base64 string ("byte" in
			// the OpenAPI format registry)
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		name := typeName.ReplaceAllString(strings.ReplaceAll(t.Name(), "github.com/lockbox-dev/lockbox.", ""), "")
		if name == "" {
			return g.object(t)
		}
		ref := map[string]any{"$ref": "#/components/schemas/" + name}
		if _, done := g.components[name]; !done {
			g.components[name] = map[string]any{} // placeholder against recursion
			g.components[name] = g.object(t)
		}
		return ref
	}
	return map[string]any{}
}

// hasRequired reports whether an object schema (or the component it
// refers to) has required fields.
func (g *schemaGen) hasRequired(schema map[string]any) bool {
	if ref, ok := schema["$ref"].(string); ok {
		schema, _ = g.components[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
	}
	req, _ := schema["required"].([]string)
	return len(req) > 0
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			g.fields(f.Type, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
		if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
			*required = append(*required, name)
		}
	}
}
