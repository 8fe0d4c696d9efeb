package api

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"
)

// openapiYAML is the OpenAPI document of the routes under /api/v1; a test
// holds it to the router's routes both ways.
//
//go:embed openapi.yaml
var openapiYAML string

const (
	mimeYAML = "application/yaml"
	// The document changes only with a new release: caches may keep it a
	// few minutes, then revalidate with the ETag.
	docsCacheControl = "public, max-age=300"
)

// registerDocs serves the OpenAPI document at /api/v1/openapi.yaml and
// /api/v1/openapi.json and a page that reads it at /api/docs. None needs
// a token: a partner's developer reads them before it has one.
func registerDocs(e *echo.Echo) {
	d := &apiDocs{}
	e.GET("/api/v1/openapi.yaml", func(c echo.Context) error { return d.serve(c, func(b *docsBuilt) docFile { return b.yaml }) })
	e.GET("/api/v1/openapi.json", func(c echo.Context) error { return d.serve(c, func(b *docsBuilt) docFile { return b.json }) })
	e.GET("/api/docs", func(c echo.Context) error { return d.serve(c, func(b *docsBuilt) docFile { return b.page }) })
}

// apiDocs derives the JSON and the page from the embedded document on the
// first request, once: a router that never serves them never parses it.
type apiDocs struct {
	once  sync.Once
	built *docsBuilt
	err   error
}

type docsBuilt struct {
	yaml, json, page docFile
}

// docFile is one response body with its headers.
type docFile struct {
	body        []byte
	contentType string
	etag        string
	csp         string
}

func newDocFile(body []byte, contentType string) docFile {
	sum := sha256.Sum256(body)
	return docFile{body: body, contentType: contentType, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`}
}

func (d *apiDocs) serve(c echo.Context, pick func(*docsBuilt) docFile) error {
	d.once.Do(func() { d.built, d.err = buildDocs(openapiYAML) })
	if d.err != nil {
		return d.err
	}
	f := pick(d.built)
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, f.contentType)
	h.Set("Cache-Control", docsCacheControl)
	h.Set("ETag", f.etag)
	if f.csp != "" {
		h.Set("Content-Security-Policy", f.csp)
		h.Set("Referrer-Policy", "no-referrer")
	}
	// ServeContent answers If-None-Match with 304.
	http.ServeContent(c.Response(), c.Request(), "", time.Time{}, bytes.NewReader(f.body))
	return nil
}

func buildDocs(src string) (*docsBuilt, error) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	var js bytes.Buffer
	if err := writeJSON(&js, &root); err != nil {
		return nil, fmt.Errorf("openapi.yaml as JSON: %w", err)
	}
	var doc oaDoc
	if err := root.Decode(&doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	page, err := renderDocsPage(&doc)
	if err != nil {
		return nil, fmt.Errorf("docs page: %w", err)
	}
	p := newDocFile(page, echo.MIMETextHTMLCharsetUTF8)
	sum := sha256.Sum256([]byte(docsCSS))
	// The page has no script and one inline stylesheet, allowed by its hash.
	p.csp = "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return &docsBuilt{yaml: newDocFile([]byte(src), mimeYAML), json: newDocFile(js.Bytes(), echo.MIMEApplicationJSON), page: p}, nil
}

// writeJSON writes a YAML node as JSON, keeping the document's order of
// keys, so that the JSON reads like the YAML.
func writeJSON(w *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return fmt.Errorf("line %d: want one document", n.Line)
		}
		return writeJSON(w, n.Content[0])
	case yaml.AliasNode:
		return writeJSON(w, n.Alias)
	case yaml.MappingNode:
		w.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				w.WriteByte(',')
			}
			if err := writeValue(w, n.Content[i].Value); err != nil {
				return err
			}
			w.WriteByte(':')
			if err := writeJSON(w, n.Content[i+1]); err != nil {
				return err
			}
		}
		w.WriteByte('}')
	case yaml.SequenceNode:
		w.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				w.WriteByte(',')
			}
			if err := writeJSON(w, c); err != nil {
				return err
			}
		}
		w.WriteByte(']')
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return err
		}
		if err := writeValue(w, v); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
	default:
		return fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
	return nil
}

// writeValue writes v as JSON without escaping <, > and &: the document
// is read by people, not embedded in HTML.
func writeValue(w *bytes.Buffer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	w.Truncate(w.Len() - 1) // Encode's newline
	return nil
}

// The part of OpenAPI 3.0 the docs page shows. Mappings keep their order
// (ordered), so the page lists paths, properties and responses as the
// document has them.
type (
	oaDoc struct {
		Info struct {
			Title       string `yaml:"title"`
			Version     string `yaml:"version"`
			Description string `yaml:"description"`
		} `yaml:"info"`
		Servers    []struct{ URL string } `yaml:"servers"`
		Tags       []oaTag                `yaml:"tags"`
		Paths      ordered[oaPathItem]    `yaml:"paths"`
		Components struct {
			Parameters    map[string]oaParameter `yaml:"parameters"`
			RequestBodies map[string]oaBody      `yaml:"requestBodies"`
			Responses     map[string]oaResponse  `yaml:"responses"`
			Schemas       ordered[*oaSchema]     `yaml:"schemas"`
		} `yaml:"components"`
	}
	oaTag struct {
		Name        string `yaml:"name"`
		Description string `yaml:"description"`
	}
	oaPathItem struct {
		Parameters []oaParameter `yaml:"parameters"`
		Get        *oaOperation  `yaml:"get"`
		Post       *oaOperation  `yaml:"post"`
		Put        *oaOperation  `yaml:"put"`
		Patch      *oaOperation  `yaml:"patch"`
		Delete     *oaOperation  `yaml:"delete"`
	}
	oaOperation struct {
		Tags        []string            `yaml:"tags"`
		Summary     string              `yaml:"summary"`
		Description string              `yaml:"description"`
		ID          string              `yaml:"operationId"`
		Security    *[]map[string]any   `yaml:"security"`
		Parameters  []oaParameter       `yaml:"parameters"`
		RequestBody *oaBody             `yaml:"requestBody"`
		Responses   ordered[oaResponse] `yaml:"responses"`
	}
	oaParameter struct {
		Ref         string    `yaml:"$ref"`
		Name        string    `yaml:"name"`
		In          string    `yaml:"in"`
		Required    bool      `yaml:"required"`
		Description string    `yaml:"description"`
		Schema      *oaSchema `yaml:"schema"`
	}
	oaBody struct {
		Ref         string           `yaml:"$ref"`
		Required    bool             `yaml:"required"`
		Description string           `yaml:"description"`
		Content     ordered[oaMedia] `yaml:"content"`
	}
	oaResponse struct {
		Ref         string           `yaml:"$ref"`
		Description string           `yaml:"description"`
		Content     ordered[oaMedia] `yaml:"content"`
	}
	oaMedia struct {
		Schema *oaSchema `yaml:"schema"`
	}
	oaSchema struct {
		Ref         string             `yaml:"$ref"`
		Type        string             `yaml:"type"`
		Format      string             `yaml:"format"`
		Description string             `yaml:"description"`
		Enum        []string           `yaml:"enum"`
		Default     string             `yaml:"default"`
		Nullable    bool               `yaml:"nullable"`
		Items       *oaSchema          `yaml:"items"`
		Properties  ordered[*oaSchema] `yaml:"properties"`
		Required    []string           `yaml:"required"`
		AllOf       []*oaSchema        `yaml:"allOf"`
	}
)

// ordered is a YAML mapping that keeps its order.
type ordered[T any] []keyed[T]

type keyed[T any] struct {
	Key   string
	Value T
}

func (o *ordered[T]) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		var v T
		if err := n.Content[i+1].Decode(&v); err != nil {
			return err
		}
		*o = append(*o, keyed[T]{n.Content[i].Value, v})
	}
	return nil
}

func (o ordered[T]) get(key string) (T, bool) {
	for _, kv := range o {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	var zero T
	return zero, false
}

// What the page shows.
type (
	docsPage struct {
		Title, Version, Base string
		Description          []template.HTML
		Tags                 []*docsTag
		Schemas              []docsSchema
		CSS                  template.CSS
	}
	docsTag struct {
		Name        string
		Description []template.HTML
		Operations  []docsOperation
	}
	docsOperation struct {
		Anchor, Method, Path, Summary string
		Description                   []template.HTML
		Public                        bool
		Parameters                    []docsField
		Body                          *docsBody
		Responses                     []docsResponse
	}
	docsField struct {
		Name, In    string
		Type        template.HTML
		Required    bool
		Description []template.HTML
	}
	docsBody struct {
		Required    bool
		Description []template.HTML
		Content     []docsContent
	}
	docsContent struct {
		MediaType string
		Schema    template.HTML
	}
	docsResponse struct {
		Status      string
		Description []template.HTML
		Content     []docsContent
	}
	docsSchema struct {
		Name        string
		Description []template.HTML
		Type        template.HTML
		Includes    []string
		Properties  []docsField
	}
)

func renderDocsPage(doc *oaDoc) ([]byte, error) {
	p := docsPage{Title: doc.Info.Title, Version: doc.Info.Version, Description: paragraphs(doc.Info.Description), CSS: template.CSS(docsCSS)}
	if len(doc.Servers) > 0 {
		p.Base = strings.TrimSuffix(doc.Servers[0].URL, "/")
	}
	tags := map[string]*docsTag{}
	for _, t := range doc.Tags {
		tags[t.Name] = &docsTag{Name: t.Name, Description: paragraphs(t.Description)}
		p.Tags = append(p.Tags, tags[t.Name])
	}
	for _, path := range doc.Paths {
		item := path.Value
		for _, m := range []struct {
			method string
			op     *oaOperation
		}{{"GET", item.Get}, {"POST", item.Post}, {"PUT", item.Put}, {"PATCH", item.Patch}, {"DELETE", item.Delete}} {
			if m.op == nil {
				continue
			}
			name := "other"
			if len(m.op.Tags) > 0 {
				name = m.op.Tags[0]
			}
			if tags[name] == nil {
				tags[name] = &docsTag{Name: name}
				p.Tags = append(p.Tags, tags[name])
			}
			tags[name].Operations = append(tags[name].Operations, doc.operation(m.method, p.Base+path.Key, item, m.op))
		}
	}
	p.Tags = slices.DeleteFunc(p.Tags, func(t *docsTag) bool { return len(t.Operations) == 0 })
	for _, s := range doc.Components.Schemas {
		p.Schemas = append(p.Schemas, doc.schema(s.Key, s.Value))
	}
	t, err := template.New("docs").Parse(docsHTML)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (doc *oaDoc) operation(method, path string, item oaPathItem, op *oaOperation) docsOperation {
	out := docsOperation{Method: method, Path: path, Summary: op.Summary, Description: paragraphs(op.Description),
		Public: op.Security != nil && len(*op.Security) == 0, Anchor: op.ID}
	if out.Anchor == "" {
		out.Anchor = strings.ToLower(method) + strings.NewReplacer("/", "-", "{", "", "}", "").Replace(path)
	}
	// Operation parameters override the path's of the same name and place.
	params := map[string]int{}
	for _, pr := range append(slices.Clone(item.Parameters), op.Parameters...) {
		pr = doc.parameter(pr)
		f := docsField{Name: pr.Name, In: pr.In, Type: schemaType(pr.Schema), Required: pr.Required, Description: paragraphs(pr.Description)}
		if i, ok := params[pr.In+" "+pr.Name]; ok {
			out.Parameters[i] = f
			continue
		}
		params[pr.In+" "+pr.Name] = len(out.Parameters)
		out.Parameters = append(out.Parameters, f)
	}
	if op.RequestBody != nil {
		b := *op.RequestBody
		if name, ok := strings.CutPrefix(b.Ref, "#/components/requestBodies/"); ok {
			b = doc.Components.RequestBodies[name]
		}
		out.Body = &docsBody{Required: b.Required, Description: paragraphs(b.Description), Content: contents(b.Content)}
	}
	for _, r := range op.Responses {
		resp := r.Value
		if name, ok := strings.CutPrefix(resp.Ref, "#/components/responses/"); ok {
			resp = doc.Components.Responses[name]
		}
		out.Responses = append(out.Responses, docsResponse{Status: r.Key, Description: paragraphs(resp.Description), Content: contents(resp.Content)})
	}
	return out
}

func (doc *oaDoc) parameter(p oaParameter) oaParameter {
	if name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/"); ok {
		return doc.Components.Parameters[name]
	}
	return p
}

func contents(c ordered[oaMedia]) []docsContent {
	var out []docsContent
	for _, m := range c {
		out = append(out, docsContent{MediaType: m.Key, Schema: schemaType(m.Value.Schema)})
	}
	return out
}

// schema lists a component schema's properties, those of the schemas it
// includes (allOf) first.
func (doc *oaDoc) schema(name string, s *oaSchema) docsSchema {
	out := docsSchema{Name: name, Description: paragraphs(s.Description)}
	var add func(s *oaSchema)
	add = func(s *oaSchema) {
		for _, part := range s.AllOf {
			if ref, ok := strings.CutPrefix(part.Ref, "#/components/schemas/"); ok {
				out.Includes = append(out.Includes, ref)
				if inc, ok := doc.Components.Schemas.get(ref); ok {
					add(inc)
				}
				continue
			}
			add(part)
		}
		for _, pr := range s.Properties {
			out.Properties = append(out.Properties, docsField{Name: pr.Key, Type: schemaType(pr.Value),
				Required: slices.Contains(s.Required, pr.Key), Description: paragraphs(pr.Value.Description)})
		}
	}
	add(s)
	if len(out.Properties) == 0 || (s.Type != "object" && len(s.AllOf) == 0) {
		out.Type = schemaType(s)
	}
	return out
}

// schemaType renders a schema's type in a line: a link for a named
// schema, its format, enum and default.
func schemaType(s *oaSchema) template.HTML {
	if s == nil {
		return ""
	}
	if name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/"); ok {
		n := template.HTMLEscapeString(name)
		return template.HTML(`<a href="#schema-` + n + `">` + n + `</a>`)
	}
	var b strings.Builder
	switch {
	case s.Type == "array":
		b.WriteString("array of ")
		b.WriteString(string(schemaType(s.Items)))
	case s.Type == "object" && len(s.Properties) > 0:
		b.WriteString("object {")
		for i, p := range s.Properties {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(template.HTMLEscapeString(p.Key) + ": " + string(schemaType(p.Value)))
		}
		b.WriteString("}")
	case s.Type != "":
		b.WriteString(template.HTMLEscapeString(s.Type))
	default:
		b.WriteString("any")
	}
	if s.Format != "" {
		b.WriteString(" (" + template.HTMLEscapeString(s.Format) + ")")
	}
	if len(s.Enum) > 0 {
		b.WriteString(": ")
		for i, v := range s.Enum {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString("<code>" + template.HTMLEscapeString(v) + "</code>")
		}
	}
	if s.Nullable {
		b.WriteString(" or null")
	}
	if s.Default != "" {
		b.WriteString(", default <code>" + template.HTMLEscapeString(s.Default) + "</code>")
	}
	return template.HTML(b.String())
}

// paragraphs renders a description: blank lines part paragraphs and
// `backticks` mark code. Everything else is text.
func paragraphs(s string) []template.HTML {
	var out []template.HTML
	for _, para := range strings.Split(strings.TrimSpace(s), "\n\n") {
		para = strings.Join(strings.Fields(para), " ")
		if para == "" {
			continue
		}
		var b strings.Builder
		for i, part := range strings.Split(para, "`") {
			if i%2 == 1 {
				b.WriteString("<code>" + template.HTMLEscapeString(part) + "</code>")
			} else {
				b.WriteString(template.HTMLEscapeString(part))
			}
		}
		out = append(out, template.HTML(b.String()))
	}
	return out
}

const docsCSS = `
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem 1.5rem;color:#1b1b1b}
h1{margin-bottom:0}h2{border-bottom:2px solid #ccc;margin-top:2.5rem}
section.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.25rem 1rem}
h3 .m{display:inline-block;min-width:3.5rem;font-family:monospace}
h3 .p{font-family:monospace}
.public{background:#e6f4ea;border-radius:3px;font-size:.8rem;padding:0 .4rem}
table{border-collapse:collapse;margin:.5rem 0;width:100%}
th,td{border-bottom:1px solid #eee;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{font-size:.85rem;color:#555}
td p{margin:0}
td:first-child{white-space:nowrap}
code{background:#f4f4f4;padding:0 .2rem}
nav ul{columns:2}
`

const docsHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} {{.Version}}</title>
<style>{{.CSS}}</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>Version {{.Version}}. Base path <code>{{.Base}}</code>. The document itself: <a href="{{.Base}}/openapi.yaml">openapi.yaml</a>, <a href="{{.Base}}/openapi.json">openapi.json</a>.</p>
{{range .Description}}<p>{{.}}</p>
{{end}}
<nav>
<ul>
{{range .Tags}}<li><a href="#tag-{{.Name}}">{{.Name}}</a></li>
{{end}}<li><a href="#schemas">schemas</a></li>
</ul>
</nav>
{{range .Tags}}
<h2 id="tag-{{.Name}}">{{.Name}}</h2>
{{range .Description}}<p>{{.}}</p>{{end}}
{{range .Operations}}
<section class="op" id="{{.Anchor}}">
<h3><span class="m">{{.Method}}</span> <span class="p">{{.Path}}</span></h3>
<p><strong>{{.Summary}}</strong>{{if .Public}} <span class="public">no token needed</span>{{end}}</p>
{{range .Description}}<p>{{.}}</p>
{{end}}
{{- if .Parameters}}
<table>
<tr><th>parameter</th><th>in</th><th>type</th><th>required</th><th>description</th></tr>
{{range .Parameters}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{.Type}}</td><td>{{if .Required}}yes{{end}}</td><td>{{range .Description}}<p>{{.}}</p>{{end}}</td></tr>
{{end}}</table>
{{- end}}
{{- with .Body}}
<p>Request body{{if .Required}} (required){{end}}:</p>
{{range .Description}}<p>{{.}}</p>{{end}}
<table>
<tr><th>content type</th><th>schema</th></tr>
{{range .Content}}<tr><td><code>{{.MediaType}}</code></td><td>{{.Schema}}</td></tr>
{{end}}</table>
{{- end}}
<table>
<tr><th>status</th><th>response</th><th>schema</th></tr>
{{range .Responses}}<tr><td>{{.Status}}</td><td>{{range .Description}}<p>{{.}}</p>{{end}}</td><td>{{range .Content}}<code>{{.MediaType}}</code> {{.Schema}}<br>{{end}}</td></tr>
{{end}}</table>
</section>
{{end}}
{{end}}
<h2 id="schemas">schemas</h2>
{{range .Schemas}}
<section class="op" id="schema-{{.Name}}">
<h3>{{.Name}}</h3>
{{range .Description}}<p>{{.}}</p>
{{end}}
{{- if .Type}}<p>{{.Type}}</p>{{end}}
{{- if .Includes}}<p>Includes {{range $i, $n := .Includes}}{{if $i}}, {{end}}<a href="#schema-{{$n}}">{{$n}}</a>{{end}}.</p>{{end}}
{{- if .Properties}}
<table>
<tr><th>property</th><th>type</th><th>required</th><th>description</th></tr>
{{range .Properties}}<tr><td><code>{{.Name}}</code></td><td>{{.Type}}</td><td>{{if .Required}}yes{{end}}</td><td>{{range .Description}}<p>{{.}}</p>{{end}}</td></tr>
{{end}}</table>
{{- end}}
</section>
{{end}}
</body>
</html>
`
