// Command repart measures detect over Kafka with sequences and samples repartitioned by
// join key (stream's doc.go, "Scaling out"), against the single-process file run of the
// same rules, all in one run:
//
//	go run ./bench/repart -n 200000 -procs 1,2,4 -rules examples/rules
//
// It generates a bench/gen workload (or reads -events), runs `tripline detect` over the
// file, then starts an in-process Kafka (kfake) with a 4-partition topic, produces the
// events to it unkeyed (round-robin), and for each process count starts that many
// `tripline detect kafka://...` processes in a group of their own, reading the whole
// backlog. A run is over once both consumer groups are settled, the input group has
// committed every event but the last minute of event time, and the commits and the
// outputs have not moved for 2 s; the time of the last move ends the run. The processes
// are then stopped (SIGTERM) and their CPU time (user and system, from the kernel) summed.
//
// Each row gives events/s (events over the run's time), CPU seconds per million events,
// the alerts written (distinct ids, and repeats), and the CPU of all processes as a
// multiple of the file run's: the cost of reading Kafka, repartitioning and merging. The
// broker's own CPU (kfake, in this process) is not counted.
package main
