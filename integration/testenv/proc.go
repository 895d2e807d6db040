package testenv

import (
	"fmt"
	"net"
)

// FreePorts asks the kernel for n distinct free ports on 127.0.0.1, holding
// every listener until all are known so the n are distinct. A server started
// on one may still lose it to another process; harnesses retry a few times.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreePort is [FreePorts] for one port.
func FreePort() (int, error) {
	ports, err := FreePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}
