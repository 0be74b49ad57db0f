package source

import (
	"os"
	"sync"
)

// maxOriginFiles bounds the files an Origin keeps open: a directory of many inputs must not
// run out of file descriptors.
const maxOriginFiles = 64

// Origin reads documents again from the input files (it implements event.Origin), through
// files opened at their first use and kept open, at most 64 at a time. The zero value is
// ready to use; Close closes the files. Safe for concurrent use.
type Origin struct {
	mu    sync.Mutex
	files map[string]*os.File
}

// ReadDoc returns the n bytes at offset in the file source (a Doc's Source and Offset).
func (o *Origin) ReadDoc(source string, offset int64, n int) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	file, ok := o.files[source]
	if !ok {
		if len(o.files) >= maxOriginFiles {
			for name, old := range o.files { // close any one
				old.Close()
				delete(o.files, name)
				break
			}
		}
		var err error
		if file, err = os.Open(source); err != nil {
			return nil, err
		}
		if o.files == nil {
			o.files = map[string]*os.File{}
		}
		o.files[source] = file
	}
	doc := make([]byte, n)
	if _, err := file.ReadAt(doc, offset); err != nil {
		return nil, err
	}
	return doc, nil
}

// Close closes the files open; a later ReadDoc opens them again.
func (o *Origin) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, file := range o.files {
		file.Close()
	}
	o.files = nil
	return nil
}
