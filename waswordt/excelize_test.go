package waswordt

import (
	"bytes"

	"github.com/xuri/excelize/v2"
)

// excelizeOpen adds a value at column XFD of row 2 of an XLSX.
func excelizeOpen(data []byte) ([]byte, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := f.SetCellStr(f.GetSheetName(0), "XFD2", "x"); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = f.Write(&buf)
	return buf.Bytes(), err
}
