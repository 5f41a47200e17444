package cli_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/par-project/par/cli"
)

func ExampleMain() {
	code := cli.Main(context.Background(), []string{"-k", "-j2", "echo", "{#}", "{}", ":::", "a b", "c"},
		strings.NewReader(""), os.Stdout, os.Stderr)
	fmt.Println("exit", code)
	// Output:
	// 1 a b
	// 2 c
	// exit 0
}

func ExampleParse() {
	o, err := cli.Parse([]string{"-kj4", "--tag", "gzip", "-9", ":::", "a.log", "b.log"})
	if err != nil {
		panic(err)
	}
	fmt.Println(o.KeepOrder, o.Jobs, o.Tag, o.Command, o.Sources[0].Args)
	// Output: true 4 true [gzip -9] [a.log b.log]
}

func ExampleParseTemplate() {
	t := cli.ParseTemplate("convert {} {.}.png", cli.DefaultReplacements())
	fmt.Println(t.HasReplacement(), t.MaxPos())
	// Output: true 0
}

func ExampleParseHalt() {
	h, err := cli.ParseHalt("soon,fail=20%")
	fmt.Printf("%+v %v\n", h, err)
	// Output: {When:1 On:0 Count:0 Pct:0.2} <nil>
}

func ExampleParseTimeout() {
	fixed, _ := cli.ParseTimeout("1m30s")
	relative, _ := cli.ParseTimeout("200%")
	fmt.Println(fixed.D, relative.Pct)
	// Output: 1m30s 2
}

func ExampleLogEntry_Format() {
	e := cli.LogEntry{Seq: 1, Host: ":", Start: time.UnixMilli(1700000000250), Runtime: 1500 * time.Millisecond,
		Receive: 6, Command: "echo hello"}
	fmt.Printf("%q\n", e.Format())
	// Output: "1\t:\t1700000000.250\t     1.500\t0\t6\t0\t0\techo hello\n"
}

func ExampleReadJobLog() {
	log := "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n" +
		"1\t:\t1700000000.250\t     0.010\t0\t2\t0\t0\techo a\n" +
		"2\t:\t1700000000.260\t     0.010\t0\t0\t1\t0\tfalse b\n"
	done, _ := cli.ReadJobLog(strings.NewReader(log), true) // --resume-failed
	fmt.Println(done)
	// Output: map[1:true]
}
