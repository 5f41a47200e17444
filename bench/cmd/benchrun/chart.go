package main

import (
	"fmt"
	"image/color"
	"io"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

var (
	parColour  = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	peerColour = color.RGBA{R: 0xaa, G: 0xaa, B: 0xaa, A: 0xff}
)

// chart draws one panel a workload, two panels a row: a bar per tool of
// its median time (par's bars in colour), and for a series of job counts
// lines on log axes. It writes base.svg and base.png.
func chart(res results, base string) error {
	var plots []*plot.Plot
	var lastSeries string
	for _, t := range res.Tables {
		if t.Series != "" {
			if t.Series == lastSeries {
				continue
			}
			lastSeries = t.Series
			p, err := seriesPlot(res, t.Series)
			if err != nil {
				return err
			}
			plots = append(plots, p)
			continue
		}
		p, err := barPlot(t)
		if err != nil {
			return err
		}
		plots = append(plots, p)
	}
	if len(plots) == 0 {
		return nil
	}
	const cols = 2
	rows := (len(plots) + cols - 1) / cols
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
	}
	for i, p := range plots {
		grid[i/cols][i%cols] = p
	}
	w, h := 14*vg.Inch, vg.Length(rows)*3.6*vg.Inch
	for _, c := range []vg.CanvasWriterTo{vgsvg.New(w, h), vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(72), vgimg.UseBackgroundColor(color.White))}} {
		tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Inch / 3, PadY: vg.Inch / 3, PadTop: vg.Inch / 6, PadBottom: vg.Inch / 6, PadLeft: vg.Inch / 6, PadRight: vg.Inch / 3}
		canvases := plot.Align(grid, tiles, draw.New(c))
		for i := range grid {
			for j, p := range grid[i] {
				if p != nil {
					p.Draw(canvases[i][j])
				}
			}
		}
		ext := ".svg"
		if _, ok := c.(vgimg.PngCanvas); ok {
			ext = ".png"
		}
		if err := writeTo(base+ext, c); err != nil {
			return err
		}
	}
	return nil
}

func writeTo(path string, c io.WriterTo) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// barPlot draws a workload's median times as horizontal bars, the first
// tool at the top, each labelled with its time; for a latency workload,
// the median round trips, which its ratios compare.
func barPlot(t *table) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s (%s jobs)", t.Title, count(t.Jobs))
	p.X.Label.Text = "median time, seconds (shorter is better)"
	value := func(r row) float64 { return r.Seconds }
	if t.Latency {
		p.X.Label.Text = "median round trip of one job, seconds (shorter is better)"
		value = func(r row) float64 { return r.Median }
	}
	var names []string
	var vals plotter.Values
	var labels plotter.XYLabels
	var rows []row
	for _, r := range t.Rows {
		if value(r) > 0 {
			rows = append(rows, r)
		}
	}
	for i := len(rows) - 1; i >= 0; i-- { // NominalY counts from the bottom
		r := rows[i]
		names = append(names, r.Tool)
		vals = append(vals, value(r))
		labels.XYs = append(labels.XYs, plotter.XY{X: value(r), Y: float64(len(names) - 1)})
		labels.Labels = append(labels.Labels, " "+seconds(value(r))+" "+ratioLabel(r, t.Ref))
	}
	if len(vals) == 0 {
		return p, nil
	}
	for i, name := range names {
		v := make(plotter.Values, len(vals))
		v[i] = vals[i]
		bars, err := plotter.NewBarChart(v, vg.Points(14))
		if err != nil {
			return nil, err
		}
		bars.Horizontal = true
		bars.LineStyle.Width = 0
		bars.Color = peerColour
		if name == t.Ref || (len(name) >= 3 && name[:3] == "par") {
			bars.Color = parColour
		}
		p.Add(bars)
	}
	l, err := plotter.NewLabels(labels)
	if err != nil {
		return nil, err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].YAlign = -0.5
	}
	p.Add(l)
	p.NominalY(names...)
	maxV := 0.0
	for _, v := range vals {
		maxV = max(maxV, v)
	}
	p.X.Min, p.X.Max = 0, maxV*1.45 // room for the labels
	return p, nil
}

func ratioLabel(r row, ref string) string {
	if r.Tool == ref || r.Ratio == 0 {
		return ""
	}
	return "(" + ratio(r.Ratio) + " par)"
}

// seriesPlot draws a series' median times against the number of jobs on
// log axes, a line per tool.
func seriesPlot(res results, series string) (*plot.Plot, error) {
	var ts []*table
	for _, t := range res.Tables {
		if t.Series == series {
			ts = append(ts, t)
		}
	}
	p := plot.New()
	p.Title.Text = ts[0].Title
	p.X.Label.Text = "jobs"
	p.Y.Label.Text = "median time, seconds"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = false, false // lines rise to the right: the bottom right is free
	for i, r0 := range ts[0].Rows {
		var xys plotter.XYs
		for _, t := range ts {
			if r := t.Rows[i]; r.Seconds > 0 {
				xys = append(xys, plotter.XY{X: float64(t.Jobs), Y: r.Seconds})
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		line.Color = plotutil.Color(i)
		line.Dashes = plotutil.Dashes(i)
		points.Color = plotutil.Color(i)
		points.Shape = plotutil.Shape(i)
		if r0.Tool == ts[0].Ref {
			line.Width = vg.Points(2.5)
		}
		p.Add(line, points)
		p.Legend.Add(r0.Tool, line, points)
	}
	return p, nil
}
