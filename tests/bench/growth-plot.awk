# growth-plot.awk: an SVG of workload 4's growth samples (awk -F, -f this
# growth-N.csv...; see tests/bench/w4-growth.sh). For each run, the samples
# are merged into intervals of at least 1/40 of the run's appeals; each
# interval is a point: x = the backlog left at its middle (log scale),
# y = (edge + core CPU) / appeals the core stored in it, in ms. One line per
# run (solid: edge + core, dashed: edge, dotted: core). The edge works ahead
# of the core, so its share leans early and the core's late.
FNR == 1 {
	run++
	file[run] = FILENAME
	np[run] = 0
	first = 1
	next
}
{
	if (first) {
		d0 = $1; e0 = $4; c0 = $5; first = 0
		size[run] = $1 + $2
		next
	}
	size[run] = $1 + $2
	if ($1 - d0 < (size[run] / 40 > 1 ? size[run] / 40 : 1) && $2 > 0)
		next
	if ($1 <= d0)
		next
	k = ++np[run]
	x[run, k] = size[run] - (d0 + $1) / 2
	ye[run, k] = ($4 - e0) * 1000 / ($1 - d0)
	yc[run, k] = ($5 - c0) * 1000 / ($1 - d0)
	y[run, k] = ye[run, k] + yc[run, k]
	d0 = $1; e0 = $4; c0 = $5
}
function lx(v) {
	return v < 1 ? 0 : log(v) / log(10)
}
function px(v) {
	return L + (lx(v) - x0) / (x1 - x0) * (Wd - L - R)
}
function py(v) {
	return Ht - B - v / ymax * (Ht - B - T)
}
function line(r, arr, dash, col,   k, s) {
	s = ""
	for (k = 1; k <= np[r]; k++)
		s = s sprintf("%.1f,%.1f ", px(x[r, k]), py(arr == "t" ? y[r, k] : arr == "e" ? ye[r, k] : yc[r, k]))
	printf "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" %s points=\"%s\"/>\n",
		col, dash == "" ? 2 : 1.2, dash, s
}
END {
	Wd = 760; Ht = 440; L = 70; R = 170; T = 40; B = 50
	ymax = 0; xmin = 1e18; xmax = 1
	for (r = 1; r <= run; r++)
		for (k = 1; k <= np[r]; k++) {
			if (y[r, k] > ymax) ymax = y[r, k]
			if (x[r, k] < xmin) xmin = x[r, k]
			if (x[r, k] > xmax) xmax = x[r, k]
		}
	if (ymax == 0) ymax = 1
	ymax *= 1.1
	x0 = int(lx(xmin)); if (x0 > lx(xmin)) x0--
	x1 = int(lx(xmax)); if (x1 < lx(xmax)) x1++
	if (x1 <= x0) x1 = x0 + 1
	split("#1f77b4 #d62728 #2ca02c #9467bd #ff7f0e", col, " ")
	printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", Wd, Ht
	printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
	printf "<text x=\"%d\" y=\"20\" font-size=\"14\">posgw workload 4 growth: CPU per appeal against the backlog left</text>\n", L
	# axes and grid
	printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", L, Ht - B, Wd - R, Ht - B
	printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", L, T, L, Ht - B
	for (e = x0; e <= x1; e++) {
		v = 10 ^ e
		printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", px(v), T, px(v), Ht - B
		printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", px(v), Ht - B + 16, v
	}
	for (i = 0; i <= 5; i++) {
		v = ymax * i / 5
		printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L, py(v), Wd - R, py(v)
		printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n", L - 6, py(v) + 4, v
	}
	printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">appeals left in the backlog (log scale)</text>\n", (L + Wd - R) / 2, Ht - 12
	printf "<text x=\"16\" y=\"%d\" transform=\"rotate(-90 16 %d)\" text-anchor=\"middle\">CPU ms per appeal</text>\n", (T + Ht - B) / 2, (T + Ht - B) / 2
	for (r = 1; r <= run; r++) {
		c = col[(r - 1) % 5 + 1]
		line(r, "t", "", c)
		line(r, "e", "stroke-dasharray=\"6,3\"", c)
		line(r, "c", "stroke-dasharray=\"2,3\"", c)
		printf "<text x=\"%d\" y=\"%d\" fill=\"%s\">backlog %d</text>\n", Wd - R + 10, T + 16 * r, c, size[r]
	}
	ly = T + 16 * (run + 1) + 10
	printf "<text x=\"%d\" y=\"%d\">solid: edge + core</text>\n", Wd - R + 10, ly
	printf "<text x=\"%d\" y=\"%d\">dashed: edge</text>\n", Wd - R + 10, ly + 16
	printf "<text x=\"%d\" y=\"%d\">dotted: core</text>\n", Wd - R + 10, ly + 32
	print "</svg>"
}
