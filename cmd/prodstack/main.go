// Command prodstack is `make prod-stack`: Aether on the production Temporal
// server with Postgres persistence and SQL visibility, two API replicas and
// two workers, on one machine, until Ctrl-C.
package main

import "aether/internal/devstack"

func main() {
	devstack.Main("prodstack", devstack.StartProd, "Stopped. Data is kept in .dev/prod/; the next `make prod-stack` reuses it.")
}
