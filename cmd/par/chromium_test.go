package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// checkPage opens the dashboard at base in headless Chromium, after the
// batch of TestServerDashboard: it must show the 2 workers, the run at
// 100%, and job 7's failure as text, and a screenshot of it must be a
// PNG. PAR_SCREENSHOT_DIR names a directory to keep the screenshot in.
func checkPage(t *testing.T, base string) {
	browser := chromium(t)
	dir, err := os.MkdirTemp("", "par-dashboard-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	defer removeAll(t, dir)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 1000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer func() {
		if err := chromedp.Cancel(ctx); err != nil {
			t.Logf("closing chromium: %v", err)
		}
		cancel()
	}()
	// Start the browser without a timeout: a timeout on the first Run
	// would stop it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	var dialogs atomic.Int32
	if err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	tctx, tcancel := context.WithTimeout(ctx, 60*time.Second)
	defer tcancel()
	wait := func(what, js string) {
		t.Helper()
		if _, err := chromedp.Run(tctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	if err := chromedp.Do(tctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	wait("2 live workers", `document.querySelectorAll("#workers tbody tr.worker:not(.stale)").length === 2`)
	wait("the run at 100%", `[...document.querySelectorAll("#runs tbody tr.run.done .pct")].some(e => e.textContent === "100%")`)
	wait("a failure row", `document.querySelectorAll("#failures tbody tr.failure").length === 1`)

	got, err := chromedp.Run(tctx, chromedp.Evaluate[map[string]any](`({
		error: document.querySelector("#failures tr.failure td.error").textContent,
		job: document.querySelector("#failures tr.failure td:nth-child(4)").textContent,
		scripts: document.scripts.length,
		injected: document.querySelectorAll("main script, main img, main iframe").length,
		run: document.querySelector("#runs tbody tr.run td:nth-child(1)").textContent,
		done: document.querySelector("#runs tbody tr.run td:nth-child(5)").textContent,
		failed: document.querySelector("#runs tbody tr.run td:nth-child(6)").textContent,
	})`))
	if err != nil {
		t.Fatal(err)
	}
	if got["error"] != xssText {
		t.Errorf("failure row's error reads %q, want %q as text", got["error"], xssText)
	}
	if got["job"] != "7" {
		t.Errorf("failure row's job is %q, want 7", got["job"])
	}
	if got["scripts"] != float64(1) || got["injected"] != float64(0) {
		t.Errorf("page has %v scripts and %v injected elements, want 1 (app.js) and 0", got["scripts"], got["injected"])
	}
	if run, _ := got["run"].(string); len(run) < len(runName) || run[:len(runName)] != runName {
		t.Errorf("run row is named %q, want %s (…)", got["run"], runName)
	}
	if got["done"] != fmt.Sprint(jobs-1) || got["failed"] != "1" {
		t.Errorf("run row shows %v done and %v failed, want %d and 1", got["done"], got["failed"], jobs-1)
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d dialogs opened: the error text ran as a script", n)
	}

	shot, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dashboard.png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Size() == 0 {
		t.Fatalf("screenshot file %s: %v, %v bytes", file, err, fi)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 100 {
		t.Fatalf("screenshot is %v", b)
	}
	t.Logf("screenshot: %s (%d bytes, %v)", file, len(shot), img.Bounds())
	if keep := os.Getenv("PAR_SCREENSHOT_DIR"); keep != "" {
		if err := os.WriteFile(filepath.Join(keep, "dashboard.png"), shot, 0o644); err != nil {
			t.Error(err)
		}
	}
}

// chromium returns the browser to drive, or skips the test when there is
// none, except in CI (CI=true), where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is missing: .ci/install-deps installs it (apt-get install chromium)")
	}
	t.Skip("chromium is missing, so the dashboard's browser test did not run: install it (apt-get install chromium)")
	return ""
}

// removeAll removes dir, trying again while chromium's child processes
// finish writing in it.
func removeAll(t *testing.T, dir string) {
	var err error
	for range 50 {
		if err = os.RemoveAll(dir); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("removing %s: %v", dir, err)
}
