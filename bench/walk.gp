# bench/walk.gp - reverse-walk time against store size, log-log, one line per system.
# gnuplot -e "datafile='walk.dat'; outfile='reverse_walk.png'" bench/walk.gp
set terminal pngcairo size 900,560 noenhanced
set output outfile
set title "Reverse walk of one author's 10 books (median ns) against store size"
set xlabel "objects in the store"
set ylabel "ns per walk"
set logscale xy
set key outside right
set grid
set key autotitle columnhead
stats datafile skip 1 nooutput
plot for [col=2:STATS_columns] datafile using 1:col with linespoints lw 2 title columnhead(col)
