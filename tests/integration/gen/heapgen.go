// heapgen writes Go profiles with a known allocation pattern, as inputs for
// the heapprof CLI tests and as an independent oracle: `go tool pprof` reads
// the same files, so our reader and reports can be checked against it.
//
//	heapgen heap BEFORE AFTER   heap profiles at two points of one run
//	heapgen allocs OUT          the "allocs" profile (default_sample_type alloc_space)
//	heapgen cpu OUT             a CPU profile (the "valid profile of another kind" case)
//
// runtime.MemProfileRate = 1 records every allocation, so the values are
// exact: between BEFORE and AFTER, main.grow adds exactly 200 live objects of
// 4096 bytes (a Go size class, so no rounding).  Stdlib only.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

func init() { runtime.MemProfileRate = 1 }

var (
	keep [][]byte
	sink []byte
)

// allocA keeps n objects of 1024 bytes.
//
//go:noinline
func allocA(n int) {
	for i := 0; i < n; i++ {
		keep = append(keep, make([]byte, 1024))
	}
}

// churn allocates and drops n objects of 8192 bytes: alloc_* > inuse_*.
//
//go:noinline
func churn(n int) {
	for i := 0; i < n; i++ {
		sink = make([]byte, 8192)
	}
	sink = nil
}

// rec recurses d levels and allocates at the bottom, so main.rec appears
// several times in one stack: cum must count it once.
//
//go:noinline
func rec(d int) {
	if d == 0 {
		keep = append(keep, make([]byte, 2048))
		return
	}
	rec(d - 1)
}

// small is inlined into useSmall: one Location with two Line entries.
func small() []byte { return make([]byte, 512) }

//go:noinline
func useSmall(n int) {
	for i := 0; i < n; i++ {
		keep = append(keep, small())
	}
}

// grow is what changes between the two heap profiles.
//
//go:noinline
func grow(n int) {
	for i := 0; i < n; i++ {
		keep = append(keep, make([]byte, 4096))
	}
}

func write(name, path string) {
	runtime.GC() // the heap profile shows the state as of the last GC
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	f.Close()
}

func spin(d time.Duration) int {
	n := 0
	for t := time.Now(); time.Since(t) < d; {
		for i := 0; i < 100000; i++ {
			n += i * i
		}
	}
	return n
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: heapgen heap BEFORE AFTER | allocs OUT | cpu OUT")
		os.Exit(2)
	}
	keep = make([][]byte, 0, 10000)
	allocA(100)
	churn(50)
	for i := 0; i < 5; i++ {
		rec(3)
	}
	useSmall(20)
	switch os.Args[1] {
	case "heap":
		if len(os.Args) < 4 {
			os.Exit(2)
		}
		write("heap", os.Args[2])
		grow(200)
		churn(10)
		write("heap", os.Args[3])
	case "allocs":
		write("allocs", os.Args[2])
	case "cpu":
		f, err := os.Create(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		n := spin(300 * time.Millisecond)
		pprof.StopCPUProfile()
		f.Close()
		if n == 42 {
			fmt.Println(n)
		}
	default:
		os.Exit(2)
	}
}
