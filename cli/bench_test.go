package cli

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
)

// BenchmarkStartTrue measures what starting a job costs par: one `true`
// per iteration, two at a time, as `seq N | par -j2 true`.
func BenchmarkStartTrue(b *testing.B) {
	for _, extra := range [][]string{nil, {"-k", "--joblog", "/dev/null"}} {
		name := "plain"
		if extra != nil {
			name = "keep-order+joblog"
		}
		b.Run(name, func(b *testing.B) {
			in := strings.Repeat("x\n", b.N)
			args := append(append([]string{"-j2"}, extra...), "true")
			b.ResetTimer()
			if rc := Main(context.Background(), args, strings.NewReader(in), io.Discard, io.Discard); rc != 0 {
				b.Fatalf("exit %d", rc)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
		})
	}
}

// BenchmarkOutput measures grouped output of 10 MB a job: lines of 1,000
// words against the same bytes as word-less lines. par copies bytes and
// never looks at words, so the two should cost the same (ns/op per run of
// four jobs; compare the two sub-benchmarks of one run).
func BenchmarkOutput(b *testing.B) {
	dir := b.TempDir()
	word := strings.Repeat("w ", 1000)[:1999] + "\n" // 1,000 words, 2,000 bytes
	plain := strings.Repeat("x", 1999) + "\n"
	for name, line := range map[string]string{"words": word, "plain": plain} {
		path := dir + "/" + name
		if err := os.WriteFile(path, []byte(strings.Repeat(line, 5000)), 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if rc := Main(context.Background(), []string{"-j2", "-N0", "cat", path, ":::", "1", "2", "3", "4"}, strings.NewReader(""), io.Discard, io.Discard); rc != 0 {
					b.Fatalf("exit %d", rc)
				}
			}
			b.ReportMetric(4*10e6/b.Elapsed().Seconds()*float64(b.N)/1e6, "MB/s")
		})
	}
}
