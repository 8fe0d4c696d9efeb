package web_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// exports is the builder's form: two files and the fields.
func exports(t *testing.T, path string, fields map[string]string, oldCSV, newCSV string) *http.Request {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string]string{"old_file": oldCSV, "new_file": newCSV} {
		if data == "" {
			continue
		}
		fw, err := w.CreateFormFile(name, name+".csv")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(data))
	}
	w.Close()
	req := httptest.NewRequest("POST", "https://cmr.example"+path, &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return req
}

func TestWordtBuilderPage(t *testing.T) {
	s := newPagesSite(t)
	path := "/cases/" + caseVO + "/wordt"
	school := s.signIn("school")
	if p := s.do("GET", path, nil, school); p.status != 200 || !strings.Contains(p.body, `name="old_file"`) {
		t.Fatalf("builder page for the school: %d", p.status)
	}
	for _, org := range []string{"dist", "lika1", "kn", "school2"} {
		if p := s.do("GET", path, nil, s.signIn(org)); p.status != http.StatusNotFound {
			t.Errorf("%s opens the school's builder: %d", org, p.status)
		}
	}
	if p := s.do("GET", "/cases/"+caseVO+"/lists", nil, school); !strings.Contains(p.body, `href="`+path+`"`) {
		t.Error("the lists page does not link the builder for the school")
	}
	oldCSV := "Leerlingnummer;Account\n1001;jan@oud.nl\n1002;sara@oud.nl\n1003;piet@oud.nl\n"
	newCSV := "Stamnr;Login\n1001;jan@nieuw.nl\n1002;sara@nieuw.nl\n"
	fields := map[string]string{"_csrf": s.token(school), "old_identity": "Account", "new_identity": "Login", "old_key": "Leerlingnummer", "new_key": "Stamnr"}
	p := s.send(exports(t, path, fields, oldCSV, newCSV), school)
	if p.status != 200 || !strings.Contains(p.body, `<dd id="matched">2</dd>`) || !strings.Contains(p.body, "jan@nieuw.nl") {
		t.Fatalf("builder result: %d\n%s", p.status, p.body)
	}
	// A heading that is not there is named, and the form keeps what was typed.
	fields["old_key"] = "Studentnummer"
	p = s.send(exports(t, path, fields, oldCSV, newCSV), school)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Studentnummer") || !strings.Contains(p.body, `value="Login"`) {
		t.Errorf("unknown key column: %d\n%s", p.status, p.body)
	}
	// A missing export is asked for by name.
	p = s.send(exports(t, path, fields, oldCSV, ""), school)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Nieuwe export") {
		t.Errorf("missing new export: %d", p.status)
	}
	delete(fields, "_csrf")
	if p := s.send(exports(t, path, fields, oldCSV, newCSV), school); p.status != http.StatusForbidden {
		t.Errorf("builder without CSRF token: %d", p.status)
	}
}
