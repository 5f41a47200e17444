package cli

import (
	"context"
	"io"
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
