// Command devstack is `make dev`: the whole Aether stack on one machine,
// with working defaults, until Ctrl-C.
package main

import "aether/internal/devstack"

func main() {
	devstack.Main("devstack", devstack.Start, "Stopped. Data is kept in .dev/; the next `make dev` reuses it.")
}
