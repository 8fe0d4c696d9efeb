package web

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr/waswordt"
)

// Uploads stream: a multipart form is read here, part by part, into
// memory, and never by Request.ParseMultipartForm (nor FormFile, nor a
// FormValue before it): those keep 32 MB in memory and write the rest to a
// file in $TMPDIR, and a was-wordt list is personal data in plaintext.
// What is held is bounded by the route's body limit (uploadLimit,
// wordtLimit, else the 1 MB of every form), which is enforced while the
// body is read.

// formFilesKey is where readForm leaves the form's files for readFile.
const formFilesKey = "web-form-files"

// maxFormParts is as many parts as Go's own form reader accepts.
const maxFormParts = 1000

// formFile is a file of a form as read: its bytes, or that it is larger
// than an upload may be (and was not kept).
type formFile struct {
	data     []byte
	tooLarge bool
}

// readForm reads a multipart/form-data body into memory: its fields where
// Request.FormValue finds them (so c.FormValue does not read the body
// again, nor parse it to disk), its files in the context for readFile.
// Other bodies are left to FormValue. An error is a body that could not be
// read as a form; the fields and files are then empty, as when
// ParseMultipartForm fails.
func readForm(c echo.Context) error {
	r := c.Request()
	if mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); mt != echo.MIMEMultipartForm {
		return nil
	}
	// The query only: ParseForm leaves a multipart body alone. FormValue
	// ignores its errors too.
	_ = r.ParseForm()
	values, files, err := streamForm(r)
	if err != nil {
		values, files = url.Values{}, map[string]formFile{}
	}
	if r.PostForm == nil {
		r.PostForm = url.Values{}
	}
	for k, vs := range values {
		r.Form[k] = append(r.Form[k], vs...)
		r.PostForm[k] = append(r.PostForm[k], vs...)
	}
	// With MultipartForm set, ParseMultipartForm returns at once: a later
	// FormValue or FormFile reads from here, never from the body.
	r.MultipartForm = &multipart.Form{Value: values, File: map[string][]*multipart.FileHeader{}}
	c.Set(formFilesKey, files)
	return err
}

// streamForm reads the parts as Go's ReadForm does (a part without a file
// name is a field; a part without a form name is skipped; the first file
// of a name counts), but keeps every file in memory, at most
// MaxUploadBytes of it: the rest of a larger file is read past, so that it
// can be refused by name with the fields still read.
func streamForm(r *http.Request) (url.Values, map[string]formFile, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, err
	}
	values, files := url.Values{}, map[string]formFile{}
	for parts := 0; ; parts++ {
		// NextPart reads past what is left of the part before.
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return values, files, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if parts == maxFormParts {
			return nil, nil, multipart.ErrMessageTooLarge
		}
		name := p.FormName()
		if name == "" {
			continue
		}
		var b bytes.Buffer
		if p.FileName() == "" {
			if _, err := b.ReadFrom(p); err != nil {
				return nil, nil, err
			}
			values[name] = append(values[name], b.String())
			continue
		}
		if _, ok := files[name]; ok {
			continue
		}
		n, err := b.ReadFrom(io.LimitReader(p, waswordt.MaxUploadBytes+1))
		if err != nil {
			return nil, nil, err
		}
		if n > waswordt.MaxUploadBytes {
			files[name] = formFile{tooLarge: true}
			continue
		}
		files[name] = formFile{data: b.Bytes()}
	}
}

// formToken is the CSRF token a POST carries in its form field "_csrf",
// with a multipart form read by readForm first. It fails only when the
// body is over the route's limit: 413, as when the body says its length up
// front. A form that cannot be read otherwise carries no token but the
// query's, as before.
func formToken(c echo.Context) (string, error) {
	if err := readForm(c); err != nil {
		if limit := (*echo.HTTPError)(nil); errors.As(err, &limit) {
			return "", limit
		}
	}
	return c.FormValue("_csrf"), nil
}
