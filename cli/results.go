package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// saveResults writes a job's output under --results DIR the way GNU
// parallel lays it out: DIR/1/<arg 1>/2/<arg 2>/{seq,stdout,stderr}, with
// / in a value written as \_ and \ as \\.
func (r *runner) saveResults(res *result) error {
	dir := r.o.Results
	for i, a := range res.job.args {
		dir = filepath.Join(dir, strconv.Itoa(i+1), escapeResult(a))
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("--results: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "seq"), []byte(strconv.FormatInt(res.job.seq, 10)), 0o666); err != nil {
		return fmt.Errorf("--results: %w", err)
	}
	for name, s := range map[string]*spool{"stdout": res.out, "stderr": res.errOut} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("--results: %w", err)
		}
		if s != nil {
			_, err = s.WriteTo(f)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("--results: %w", err)
		}
	}
	return nil
}

func escapeResult(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, "/", `\_`)
	if s == "" {
		return `\0`
	}
	if len(s) > 255 {
		s = s[:255]
	}
	return s
}
