# table.awk turns `go test -bench . -benchmem -count N` output into the
# Markdown table of README.md: the median of the N runs of each benchmark,
# and its ratio to the "raw" baseline of the same group (the benchmark whose
# last name element is "raw"). POSIX awk; no gawk extensions.
#
#	go test -run '^$' -bench . -benchmem -count 5 | tee out.txt
#	awk -f table.awk out.txt

function median(list,    n, v, i, j, t) {
	n = split(list, v, " ")
	for (i = 2; i <= n; i++) { # insertion sort, n is small
		t = v[i] + 0
		for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]
		v[j + 1] = t
	}
	if (n % 2) return v[(n + 1) / 2]
	return (v[n / 2] + v[n / 2 + 1]) / 2
}

function fmtns(x) {
	if (x >= 100) return sprintf("%.0f", x)
	return sprintf("%.1f", x)
}

/^Benchmark/ {
	name = $1
	sub(/-[0-9]+$/, "", name) # GOMAXPROCS suffix
	ns = ""; bytes = ""; allocs = ""
	for (i = 3; i < NF; i++) {
		if ($(i + 1) == "ns/op") ns = $i
		if ($(i + 1) == "B/op") bytes = $i
		if ($(i + 1) == "allocs/op") allocs = $i
	}
	if (ns == "") next
	if (!(name in seen)) { seen[name] = 1; order[++count] = name }
	nsl[name] = nsl[name] " " ns
	bl[name] = bl[name] " " bytes
	al[name] = al[name] " " allocs
}

END {
	print "| benchmark | ns/op | B/op | allocs/op | × raw |"
	print "| --- | ---: | ---: | ---: | ---: |"
	for (k = 1; k <= count; k++) {
		name = order[k]
		group = name
		sub(/\/[^\/]*$/, "", group)
		raw = group "/raw"
		m = median(nsl[name])
		ratio = "—"
		if (raw in nsl && raw != name) ratio = sprintf("%.2f", m / median(nsl[raw]))
		if (raw == name) ratio = "1.00"
		short = name
		sub(/^Benchmark/, "", short)
		printf "| %s | %s | %d | %d | %s |\n", short, fmtns(m), median(bl[name]), median(al[name]), ratio
	}
}
