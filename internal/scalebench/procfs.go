package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of the CPU times of /proc/PID/stat (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuTime is the user+system CPU time a process has used, from /proc/PID/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces: count from after it.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	ut, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, fields[11], fields[12])
	}
	return time.Duration(ut+st) * clockTick, nil
}

// memory is a process's resident memory, from /proc/PID/status.
type memory struct{ rss, hwm int64 } // bytes

func memoryOf(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		switch name {
		case "VmRSS":
			m.rss = kb << 10
		case "VmHWM":
			m.hwm = kb << 10
		}
	}
	return m, sc.Err()
}

// machineCPU is the busy and total CPU time of the whole machine, from /proc/stat, so that a
// report can say how much of the machine other processes took.
type machineCPU struct{ busy, total time.Duration }

func machineTimes() (machineCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)[1:] // user nice system idle iowait irq softirq steal ...
	var m machineCPU
	for i, f := range fields {
		if i >= 8 { // guest times are counted in user already
			break
		}
		n, _ := strconv.ParseInt(f, 10, 64)
		d := time.Duration(n) * clockTick
		m.total += d
		if i != 3 && i != 4 { // idle, iowait
			m.busy += d
		}
	}
	return m, nil
}

// rssEvery is how often sampleRSS reads the daemon's resident size.
const rssEvery = 5 * time.Second

// sampleRSS reads the resident size of pid every rssEvery for d, and returns what it read.
// The resident size at one instant moves by tens of MiB with the garbage collector's cycle, so
// one reading at the end of a phase cannot tell two runs apart by less.
func sampleRSS(pid int, d time.Duration) []int64 {
	var rss []int64
	tick := time.NewTicker(rssEvery)
	defer tick.Stop()
	end := time.After(d)
	for {
		select {
		case <-end:
			return rss
		case <-tick.C:
			if m, err := memoryOf(pid); err == nil {
				rss = append(rss, m.rss)
			}
		}
	}
}

// rssReport prints the resident size over the second half of a phase, once the cold start's
// garbage is further behind: its median is the figure to compare between runs.
func (b *bench) rssReport(rss []int64) {
	late := slices.Clone(rss[len(rss)/2:])
	if len(late) == 0 {
		return
	}
	slices.Sort(late)
	var sum int64
	for _, v := range late {
		sum += v
	}
	b.printf("VmRSS over the phase's second half (%d readings, every %s): min %s, median %s, mean %s, max %s\n",
		len(late), rssEvery, mib(late[0]), mib(late[len(late)/2]), mib(sum/int64(len(late))), mib(late[len(late)-1]))
}
